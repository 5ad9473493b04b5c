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

// From the moment migrate_live returns (its first step writes to both
// sides before the router holds a copy) until the migration ends, a swap
// would pull the source from under it: refused, nothing changed.
TEST(swap, is_refused_from_the_first_step_of_a_live_migration) {
  auto dir = fresh_dir();
  runtime_options o;
  o.state_dir = dir + "/state";
  runtime rt(o);
  auto src = "sqlite://" + dir + "/src.db";
  auto cache = rt.open_cache(src);
  std::vector<cache_entry> entries;
  for (int i = 0; i < 2000; ++i)
    entries.push_back({"k" + std::to_string(i), "v", {}});
  await(cache.mset(entries));
  auto m = rt.migrate_live(src, "sqlite://" + dir + "/tgt.db");
  EXPECT_TRUE(fails_with(errc::conflict,
                         [&] { rt.swap(src, "memory://?namespace=other"); }))
      << "in state " << to_string(m.state());
  EXPECT_EQ(rt.stats(src).backend, src);
  await(cache.set("after", "1"));
  m.wait();
  EXPECT_EQ(await(cache.get("k5")), "v");
  EXPECT_EQ(await(cache.get("after")), "1");
}

// A faiss:// directory has one store per runtime: swapping another store
// onto it is refused at once, and that store keeps serving its own.
TEST(swap, onto_a_directory_another_store_serves_is_a_conflict) {
  runtime rt;
  auto a = "faiss://" + fresh_dir();
  auto b = "faiss://" + fresh_dir();
  auto va = rt.open_vector(a);
  auto vb = rt.open_vector(b);
  await(va.create_collection({"col_a", 4, metric::l2}));
  await(vb.create_collection({"col_b", 4, metric::l2}));
  for (auto to : {a, a + "?index=hnsw"})
    EXPECT_TRUE(fails_with(errc::conflict, [&] { rt.swap(b, to); })) << to;
  EXPECT_EQ(await(vb.count("col_b")), 0u);
  EXPECT_EQ(await(va.count("col_a")), 0u);
  // Its own directory with other parameters is the store's to change.
  EXPECT_NO_THROW(rt.swap(b, b + "?index=hnsw"));
  EXPECT_EQ(await(vb.count("col_b")), 0u);
}

}  // namespace
}  // namespace storage::test
