// Swapping a store to another backend while callers keep using their handle:
// nobody sees an error, and requests after the swap reach the new backend.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "runtime/runtime.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

TEST(swap, cache_callers_see_no_error_across_a_swap) {
  runtime rt;
  auto dir = fresh_dir();
  auto cache = rt.open_cache("memory://?pool=2");
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, done{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c)
    callers.emplace_back([&, c] {
      for (int i = 0; !stop; ++i) {
        try {
          auto key = "k" + std::to_string(c) + "_" + std::to_string(i % 20);
          await(cache.set(key, "v"));
          await(cache.get(key));
          ++done;
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
          ++errors;
        }
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  rt.swap("memory://?pool=2", "sqlite://" + dir + "/swapped.db?pool=2");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (auto& t : callers) t.join();
  EXPECT_EQ(errors, 0);
  EXPECT_GT(done, 100);
  // A write after the swap lands in the SQLite file: a second store opened
  // on that file sees it.
  await(cache.set("after-swap", "yes"));
  auto direct = rt.open_cache("sqlite://" + dir + "/swapped.db");
  EXPECT_EQ(await(direct.get("after-swap")), "yes");
}

TEST(swap, vector_store_swaps_between_faiss_directories) {
  runtime rt;
  auto a = "faiss://" + fresh_dir();
  auto b = "faiss://" + fresh_dir();
  auto vs = rt.open_vector(a);
  await(vs.create_collection({"swapme", 2, metric::l2}));
  await(vs.upsert("swapme", {{"x", {1, 0}, {}, std::nullopt}}));
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::thread reader([&] {
    while (!stop) {
      try {
        await(vs.list_collections());
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++errors;
      }
    }
  });
  rt.swap(a, b);
  stop = true;
  reader.join();
  EXPECT_EQ(errors, 0);
  // The new backend is empty: the swap moved the handle, not the data.
  EXPECT_TRUE(await(vs.list_collections()).empty());
}

TEST(swap, a_bad_uri_is_rejected_and_the_old_backend_stays) {
  runtime rt;
  auto cache = rt.open_cache("memory://");
  await(cache.set("k", "v"));
  EXPECT_TRUE(fails_with(errc::invalid_argument,
                         [&] { rt.swap("memory://", "nosuch://x"); }));
  EXPECT_TRUE(fails_with(errc::invalid_argument, [&] {
    rt.swap("memory://", "faiss:///tmp/x");  // a vector store, not a cache
  }));
  EXPECT_EQ(await(cache.get("k")), "v");
}

}  // namespace
}  // namespace storage::test
