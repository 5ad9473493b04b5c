// A scan of a Chroma collection while another connection deletes records:
// Chroma lists ids by offset, so deletes between two pages of the listing
// shift later ids; every id present throughout must still be returned.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <set>
#include <thread>

#include "adapters/chroma/chroma_store.hpp"
#include "adapters/factories.hpp"
#include "support/servers.hpp"

namespace storage {
namespace {

std::string id_of(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "r%05d", i);
  return buf;
}

TEST(chroma_scan, ids_present_throughout_survive_concurrent_deletes) {
  auto uri = store_uri::parse(test::chroma_uri());
  auto store = make_chroma_store(uri, 0, 1);
  auto deleter = make_chroma_store(uri, 0, 1);
  auto name = "ct-scan-deletes-" + std::to_string(getpid());
  store->drop_collection(name);
  ASSERT_TRUE(store->create_collection({name, 2, metric::l2}));
  // More ids than one listing page (10,000), in insertion order.
  constexpr int n = 24000;
  for (int b = 0; b < n; b += 1000) {
    std::vector<vector_record> batch;
    for (int i = b; i < b + 1000; ++i)
      batch.push_back({id_of(i), {float(i), 1}, {}, std::nullopt});
    store->upsert(name, batch);
  }
  // Even ids go, in insertion order, while the scan runs; odd ids stay.
  std::atomic<bool> stop{false};
  std::atomic<int> deleted{0};
  std::thread t([&] {
    try {
      for (int b = 0; b < n && !stop; b += 200) {
        std::vector<std::string> xs;
        for (int i = b; i < b + 200; i += 2) xs.push_back(id_of(i));
        deleted += static_cast<int>(deleter->remove(name, xs));
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "a delete failed: " << e.what();
    }
  });
  std::set<std::string> seen;
  std::string after;
  try {
    do {
      auto page = store->scan(name, after, 2000);
      for (auto& r : page.records) seen.insert(r.id);
      after = page.next_cursor;
    } while (!after.empty());
  } catch (const std::exception& e) {
    ADD_FAILURE() << "the scan failed: " << e.what();
  }
  stop = true;
  t.join();
  EXPECT_GT(deleted.load(), 0) << "no delete overlapped the scan";
  int missing = 0;
  for (int i = 1; i < n; i += 2)
    if (!seen.count(id_of(i)) && missing++ < 10)
      ADD_FAILURE() << id_of(i) << " was there throughout but not scanned";
  EXPECT_EQ(missing, 0);
  store->drop_collection(name);
}

}  // namespace
}  // namespace storage
