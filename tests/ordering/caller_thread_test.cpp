// Which facade calls run on the calling thread (actors/pool/inline_policy.hpp):
// a call to an idle Redis or SQLite connection or faiss:// shard comes back
// complete, with no hand-off to a worker thread; after a call that timed out
// that way (a locked file) or took 100 ms or more (a big faiss:// batch), the
// connection's next calls go to its worker thread, so the caller gets a
// pending future at once, and a second later calls run on the caller's
// thread again.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <random>
#include <thread>

#include "runtime/runtime.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

using namespace std::chrono_literals;

template <class T>
bool ready(const std::future<T>& f) {
  return f.wait_for(0s) == std::future_status::ready;
}

void expect_calls_complete_on_return(cache_store& cache) {
  await(cache.set("k", "v"));  // connects
  for (int i = 0; i < 20; ++i) {
    auto set = cache.set("k", std::to_string(i));
    EXPECT_TRUE(ready(set)) << i;
    await(std::move(set));
    auto get = cache.get("k");
    EXPECT_TRUE(ready(get)) << i;
    EXPECT_EQ(await(std::move(get)), std::to_string(i));
  }
}

TEST(caller_thread, an_idle_sqlite_connection_runs_the_call_on_the_caller) {
  runtime rt;
  auto cache = rt.open_cache("sqlite://" + fresh_dir() + "/c.db?pool=2");
  expect_calls_complete_on_return(cache);
}

TEST(caller_thread, an_idle_redis_connection_runs_the_call_on_the_caller) {
  runtime rt;
  auto cache = rt.open_cache(
      with_param(redis_uri(), "pool=2&namespace=inline" + unique_token()));
  expect_calls_complete_on_return(cache);
  await(cache.clear());
}

TEST(caller_thread,
     a_timed_out_call_sends_the_next_ones_to_the_worker_for_a_while) {
  runtime rt;
  auto path = fresh_dir() + "/slow.db";
  auto cache = rt.open_cache("sqlite://" + path + "?timeout_ms=300");
  await(cache.set("before", "1"));
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto slow_started = std::chrono::steady_clock::now();
  // Waits for the lock on this thread until its deadline.
  auto slow = cache.set("a", "x");
  EXPECT_TRUE(ready(slow));
  EXPECT_TRUE(fails_with(errc::timeout, [&] { await(std::move(slow)); }));
  // Handed to the worker: this thread is free while it waits for the lock.
  auto next = cache.set("b", "x");
  EXPECT_FALSE(ready(next));
  EXPECT_TRUE(fails_with(errc::timeout, [&] { await(std::move(next)); }));
  sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  // The hand-off lasts a second from the first call's timeout (300 ms).
  std::this_thread::sleep_until(slow_started + 1600ms);
  auto again = cache.get("before");
  EXPECT_TRUE(ready(again));
  EXPECT_EQ(await(std::move(again)), "1");
}

std::vector<vector_record> random_records(std::size_t n, std::uint32_t dim,
                                          const std::string& prefix) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<vector_record> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].id = prefix + std::to_string(i);
    out[i].embedding.resize(dim);
    for (auto& x : out[i].embedding) x = u(gen);
  }
  return out;
}

TEST(caller_thread, an_idle_faiss_shard_runs_the_call_on_the_caller) {
  runtime rt;
  auto store = rt.open_vector("faiss://" + fresh_dir() + "/v");
  await(store.create_collection({"docs", 8, metric::l2}));
  for (int i = 0; i < 5; ++i) {
    auto up =
        store.upsert("docs", random_records(10, 8, std::to_string(i) + "-"));
    EXPECT_TRUE(ready(up)) << i;
    EXPECT_EQ(await(std::move(up)), 10u);
    search_request req;
    req.query = std::vector<float>(8, 0.5f);
    req.k = 3;
    auto hits = store.search("docs", req);
    EXPECT_TRUE(ready(hits)) << i;
    EXPECT_EQ(await(std::move(hits)).size(), 3u);
  }
}

TEST(caller_thread, a_slow_call_sends_the_next_ones_to_the_worker_for_a_while) {
  runtime rt;
  auto store = rt.open_vector("faiss://" + fresh_dir() + "/v");
  await(store.create_collection({"docs", 128, metric::l2}));
  // Each batch takes well over 100 ms to write (SQLite and the index).
  auto big = random_records(60000, 128, "a-");
  auto more = random_records(60000, 128, "b-");
  auto started = std::chrono::steady_clock::now();
  auto slow = store.upsert("docs", big);
  auto slow_took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(ready(slow));
  EXPECT_EQ(await(std::move(slow)), 60000u);
  ASSERT_GE(slow_took, 100ms) << "the batch was too small to be slow here";
  // Handed to the worker: this thread is free while the batch is written.
  auto next = store.upsert("docs", std::move(more));
  EXPECT_FALSE(ready(next));
  EXPECT_EQ(await(std::move(next)), 60000u);
  std::this_thread::sleep_until(started + slow_took + 1100ms);
  auto again = store.count("docs");
  EXPECT_TRUE(ready(again));
  EXPECT_EQ(await(std::move(again)), 120000u);
}

}  // namespace
}  // namespace storage::test
