// Which facade calls run on the calling thread (actors/pool/inline_policy.hpp):
// a call to an idle Redis or SQLite connection or faiss:// shard comes back
// complete, with no hand-off to a worker thread; after a call that timed out
// that way (a locked file) or took 100 ms or more (a big faiss:// batch), the
// connection's next calls go to its worker thread, so the caller gets a
// pending future at once, and a second later calls run on the caller's
// thread again. An actor runs reads that wait for no lock on its own thread
// too: point reads on an open SQLite connection, a faiss:// search of a
// collection in memory.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <thread>

#include <caf/all.hpp>

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

// Another connection holding the file's write lock (BEGIN EXCLUSIVE) while
// it lives.
class exclusive_lock {
 public:
  explicit exclusive_lock(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK ||
        sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) !=
            SQLITE_OK) {
      sqlite3_close(db_);
      throw std::runtime_error("cannot lock " + path);
    }
  }
  ~exclusive_lock() {
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }
  exclusive_lock(const exclusive_lock&) = delete;
  exclusive_lock& operator=(const exclusive_lock&) = delete;

 private:
  sqlite3* db_ = nullptr;
};

TEST(caller_thread,
     a_timed_out_call_sends_the_next_ones_to_the_worker_for_a_while) {
  runtime rt;
  auto path = fresh_dir() + "/slow.db";
  auto cache = rt.open_cache("sqlite://" + path + "?timeout_ms=300");
  await(cache.set("before", "1"));
  std::optional<exclusive_lock> other(path);
  auto slow_started = std::chrono::steady_clock::now();
  // Waits for the lock on this thread until its deadline.
  auto slow = cache.set("a", "x");
  EXPECT_TRUE(ready(slow));
  EXPECT_TRUE(fails_with(errc::timeout, [&] { await(std::move(slow)); }));
  // Handed to the worker: this thread is free while it waits for the lock.
  auto next = cache.set("b", "x");
  EXPECT_FALSE(ready(next));
  EXPECT_TRUE(fails_with(errc::timeout, [&] { await(std::move(next)); }));
  other.reset();
  // The hand-off lasts a second from the first call's timeout (300 ms).
  std::this_thread::sleep_until(slow_started + 1600ms);
  auto again = cache.get("before");
  EXPECT_TRUE(ready(again));
  EXPECT_EQ(await(std::move(again)), "1");
}

// A new actor sends one request: whether the reply was in its mailbox when
// request() returned (the request ran on the actor's own thread), and the
// reply.
template <class Reply, class Handle, class... Ts>
std::pair<bool, Reply> ask_once(runtime& rt, const Handle& store, Ts... xs) {
  auto done = std::make_shared<std::promise<std::pair<bool, Reply>>>();
  auto result = done->get_future();
  // An argument: CAF 0.17 binds a null reference for a function spawned
  // without any (UBSan: init_fun_factory.hpp:85).
  rt.system().spawn(
      [=](caf::event_based_actor* self, int) -> caf::behavior {
        auto h = self->request(store, 10s, xs...);
        bool answered = !self->mailbox().empty();
        h.then(
            [=](const Reply& r) {
              done->set_value({answered, r});
              self->quit();
            },
            [=](caf::error& e) {
              done->set_exception(std::make_exception_ptr(
                  std::runtime_error(caf::to_string(e))));
              self->quit();
            });
        return {[](caf::unit_t) {}};
      },
      0);
  if (result.wait_for(60s) != std::future_status::ready)
    throw std::runtime_error("no answer within 60 s");
  return result.get();
}

// An actor's get, mget, exists and ttl of "k" (= "v"), `rounds` times each:
// how many were not answered on the actor's thread; fails the test on a
// wrong answer.
int actor_point_reads(runtime& rt, const cache_store_actor& store,
                      int rounds = 5) {
  int handed_off = 0;
  auto count = [&](bool on_its_thread) { handed_off += on_its_thread ? 0 : 1; };
  for (int i = 0; i < rounds; ++i) {
    auto got =
        ask_once<maybe_value>(rt, store, cget_atom::value, std::string{"k"});
    count(got.first);
    EXPECT_TRUE(got.second.found && got.second.value == "v");
    auto many = ask_once<std::vector<maybe_value>>(rt, store, cmget_atom::value,
                                                   ids{"k", "none"});
    count(many.first);
    EXPECT_TRUE(many.second.size() == 2 && many.second[0].found &&
                !many.second[1].found);
    auto there =
        ask_once<bool>(rt, store, cexists_atom::value, std::string{"k"});
    count(there.first);
    EXPECT_TRUE(there.second);
    count(ask_once<ttl_info>(rt, store, cttl_atom::value, std::string{"k"})
              .first);
  }
  return handed_off;
}

// Point reads on an open SQLite connection never wait for a lock (WAL), so
// an actor runs them on its own scheduler thread too.
TEST(caller_thread, an_actors_point_reads_on_sqlite_run_on_its_thread) {
  runtime rt;
  auto cache = rt.open_cache("sqlite://" + fresh_dir() + "/c.db?pool=2");
  await(cache.set("k", "v"));
  // Each worker opens its connection on its first request, on its own
  // thread: opening can wait for the file's lock.
  actor_point_reads(rt, cache.actor());
  EXPECT_EQ(actor_point_reads(rt, cache.actor()), 0);
}

// Another connection's exclusive lock holds writers, not readers.
TEST(caller_thread, an_actors_point_reads_on_sqlite_pass_a_writers_lock) {
  runtime rt;
  auto path = fresh_dir() + "/locked.db";
  auto cache = rt.open_cache("sqlite://" + path + "?timeout_ms=300");
  await(cache.set("k", "v"));
  exclusive_lock other(path);
  EXPECT_EQ(actor_point_reads(rt, cache.actor()), 0);
  // The lock holds: a write waits for it until its deadline.
  EXPECT_TRUE(fails_with(errc::timeout, [&] { await(cache.set("k2", "x")); }));
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

std::vector<std::string> ids_of(const std::vector<search_hit>& hits) {
  std::vector<std::string> out;
  for (auto& h : hits) out.push_back(h.id);
  return out;
}

// A search of a collection in memory waits for nothing, so an actor runs it
// on its own thread; a collection still on disk goes to the worker (its load
// can take until the deadline), and once loaded its searches run on the
// actor's thread.
TEST(caller_thread, an_actors_faiss_search_runs_on_its_thread_once_loaded) {
  auto uri = "faiss://" + fresh_dir() + "/v?pool=1";
  {
    runtime rt;
    auto store = rt.open_vector(uri);
    await(store.create_collection({"docs", 8, metric::l2}));
    await(store.upsert("docs", random_records(20000, 8, "r-")));
  }
  runtime rt;
  auto store = rt.open_vector(uri);
  // Opens the shard; a count reads SQLite and loads nothing.
  EXPECT_EQ(await(store.count("docs")), 20000u);
  search_request req;
  req.query = std::vector<float>(8, 0.5f);
  req.k = 3;
  auto first = ask_once<std::vector<search_hit>>(
      rt, store.actor(), vsearch_atom::value, std::string{"docs"}, req);
  EXPECT_FALSE(first.first) << "the load ran on the actor's thread";
  ASSERT_EQ(first.second.size(), 3u);
  for (int i = 0; i < 10; ++i) {
    auto next = ask_once<std::vector<search_hit>>(
        rt, store.actor(), vsearch_atom::value, std::string{"docs"}, req);
    EXPECT_TRUE(next.first) << i;
    EXPECT_EQ(ids_of(next.second), ids_of(first.second)) << i;
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
