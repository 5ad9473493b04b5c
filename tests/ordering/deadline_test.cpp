// Deadlines and bounds on a blocked backend: a SQLite file locked by another
// connection. The caller hears `timeout` by its deadline, a request that
// timed out never writes afterwards, max_inflight holds while the backend is
// stuck, and traffic recovers when the lock goes. And a request split
// across in-process shards counts once against max_inflight.
#include <gtest/gtest.h>

#include <spdlog/sinks/ostream_sink.h>

#include <sstream>
#include <thread>

#include "adapters/storage_log.hpp"
#include "runtime/runtime.hpp"
#include "support/sqlite_file_lock.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

using clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

long elapsed_ms(clock::time_point since) {
  return static_cast<long>(
      std::chrono::duration_cast<ms>(clock::now() - since).count());
}

TEST(deadlines, a_timed_out_write_never_happens_later) {
  runtime rt;
  auto path = fresh_dir() + "/locked.db";
  auto cache = rt.open_cache("sqlite://" + path + "?timeout_ms=400");
  await(cache.set("before", "1"));  // the file and schema exist
  sqlite_file_lock lock(path);
  auto start = clock::now();
  // The first finds its connection idle and waits on the lock on this
  // thread until its deadline; a call that timed out sends the others to the
  // worker's thread (actors/pool/inline_policy.hpp), where they wait behind
  // each other and must not start after their deadlines.
  std::vector<std::future<void>> writes;
  for (int i = 0; i < 4; ++i)
    writes.push_back(cache.set("k" + std::to_string(i), "late"));
  for (auto& w : writes)
    EXPECT_TRUE(fails_with(errc::timeout, [&] { await(std::move(w)); }));
  // Each answer came by its deadline (400 ms after it was issued, the
  // first one's included), give or take scheduling.
  EXPECT_LT(elapsed_ms(start), 2 * 400 + 1000);
  lock.release();
  std::this_thread::sleep_for(ms(300));
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(await(cache.get("k" + std::to_string(i))), std::nullopt) << i;
  await(cache.set("after", "2"));
  EXPECT_EQ(await(cache.get("after")), "2");
}

// A worker makes its adapter at its first request, and opening the file
// waits for the lock as well: that wait ends by the request's deadline, not
// by busy_timeout_ms (5 s), and the next request opens the file.
TEST(deadlines, a_first_request_to_a_locked_file_ends_by_its_deadline) {
  runtime rt;
  auto path = fresh_dir() + "/locked-at-open.db";
  sqlite_file_lock lock(path);  // before the store's schema exists
  auto cache = rt.open_cache("sqlite://" + path + "?timeout_ms=400");
  auto start = clock::now();
  EXPECT_TRUE(fails_with(errc::timeout, [&] { await(cache.set("k", "v")); }));
  EXPECT_LT(elapsed_ms(start), 400 + 600);
  lock.release();
  await(cache.set("k", "v"));
  EXPECT_EQ(await(cache.get("k")), "v");
}

TEST(deadlines, max_inflight_holds_while_the_backend_is_stuck) {
  runtime rt;
  auto path = fresh_dir() + "/stuck.db";
  auto uri = "sqlite://" + path + "?timeout_ms=800&max_inflight=4";
  auto cache = rt.open_cache(uri);
  await(cache.set("before", "1"));
  sqlite_file_lock lock(path);
  // The log says so once, not once per refused request.
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  storage_log()->sinks().push_back(sink);
  std::vector<std::future<void>> writes;
  for (int i = 0; i < 12; ++i)
    writes.push_back(cache.set("k" + std::to_string(i), "v"));
  int overloaded = 0, timed_out = 0;
  for (auto& w : writes) {
    try {
      await(std::move(w));
    } catch (const store_error& e) {
      if (e.code() == errc::overloaded) {
        ++overloaded;
        EXPECT_EQ(e.operation(), "set") << e.what();  // not "request"
      }
      if (e.code() == errc::timeout) ++timed_out;
    }
  }
  // The first ran on this thread and waited for the lock until its
  // deadline, which sends the next ones to the worker's thread. Four of
  // those are admitted, wait for the lock and time out; the rest were
  // refused at once, while those four still held their places.
  EXPECT_EQ(timed_out, 5);
  EXPECT_EQ(overloaded, 7);
  // The store's metrics saw what the callers saw (a worker counts its
  // request when it gives up on it, which may be just after its caller
  // did).
  op_stats set;
  for (auto until = clock::now() + ms(5000); clock::now() < until;) {
    for (auto& o : rt.stats(uri).ops)
      if (o.op == "set") set = o;
    if (set.requests == 1 + 12) break;
    std::this_thread::sleep_for(ms(5));
  }
  EXPECT_EQ(set.requests, 1u + 12u);
  EXPECT_EQ(set.errors["overloaded"], 7u);
  EXPECT_EQ(set.errors["timeout"], 5u);
  storage_log()->sinks().pop_back();
  auto text = log.str();
  auto first = text.find("turned away as overloaded (more than 4 in flight)");
  EXPECT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find("turned away", first + 1), std::string::npos) << text;
  lock.release();
  // Traffic recovers once the lock is gone. Under ThreadSanitizer the first
  // set after the release once missed its 800 ms (CI, 2026-12-03; the
  // cause is not known): recovery is asked of the next five seconds, not
  // of one request's deadline.
  bool recovered = false;
  for (auto until = clock::now() + ms(5000);
       !recovered && clock::now() < until;) {
    try {
      await(cache.set("after", "2"));
      recovered = true;
    } catch (const store_error& e) {
      EXPECT_EQ(e.code(), errc::timeout) << e.what();
    }
  }
  ASSERT_TRUE(recovered);
  EXPECT_EQ(await(cache.get("after")), "2");
}

// The router splits a search across the shards; its parts share its one
// unit of the bound. (Each part once took a unit of its own: a request that
// came while a search's parts were still at the shards saw 16 units taken,
// and at max_inflight=1024 a caller with some 70 such requests outstanding
// on 16 shards was turned away, its store "more than 1024 in flight".)
TEST(bounds, a_request_split_across_shards_counts_once) {
  runtime rt;
  auto vs = rt.open_vector("faiss://" + fresh_dir() +
                           "/v?index=flat&pool=16&max_inflight=2");
  constexpr std::size_t dim = 64;
  await(vs.create_collection({"col", dim, metric::l2}));
  std::vector<vector_record> batch(4000);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i].id = "r" + std::to_string(i);
    batch[i].embedding.assign(dim, static_cast<float>(i % 101));
  }
  await(vs.upsert("col", batch));
  // Each shard compares 2000 queries with its 250 vectors: milliseconds of
  // work, still going on when the count comes.
  batch_search_request many;
  many.k = 1;
  many.queries.assign(2000, std::vector<float>(dim, 7.0f));
  auto search = vs.search_batch("col", many);
  std::this_thread::sleep_for(ms(2));
  auto count = vs.count("col");
  EXPECT_EQ(await(std::move(search)).size(), many.queries.size());
  EXPECT_EQ(await(std::move(count)), batch.size());
}

}  // namespace
}  // namespace storage::test
