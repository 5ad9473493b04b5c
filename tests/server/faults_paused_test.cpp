// A server that is frozen (SIGSTOP), not gone: every request still ends by
// its deadline with timeout, max_inflight holds while requests pile up, and
// traffic recovers by itself once the server runs again (SIGCONT).
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include <caf/scoped_actor.hpp>

#include "messages/caf_support.hpp"
#include "runtime/runtime.hpp"
#include "server_support.hpp"

namespace storage::srv {
namespace {

using namespace storage::test;

TEST(ServerPaused, RedisRequestsEndByTheirDeadlineAndRecover) {
  runtime rt;
  auto cache = rt.open_cache(with_param(
      redis_uri(),
      "timeout_ms=500&max_inflight=4&namespace=paused" + unique_token()));
  await(cache.set("k", "v"));
  frozen stop(redis_pid());
  auto start = std::chrono::steady_clock::now();
  std::vector<std::future<std::optional<std::string>>> gets;
  for (int i = 0; i < 10; ++i) gets.push_back(cache.get("k"));
  int timed_out = 0, overloaded = 0;
  for (auto& g : gets) {
    try {
      await(std::move(g));
    } catch (const store_error& e) {
      if (e.code() == errc::timeout) ++timed_out;
      if (e.code() == errc::overloaded) ++overloaded;
    }
  }
  // The first get found its connection idle and ran on this thread until
  // its deadline; a call that timed out sends the next ones to the worker's
  // thread (actors/pool/inline_policy.hpp). Of those, four are admitted and
  // wait on the frozen server; the rest are refused.
  EXPECT_EQ(timed_out, 5);
  EXPECT_EQ(overloaded, 5);
  // Every answer came by the 500 ms deadline, give or take scheduling.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  stop.thaw();
  // The connections that timed out reconnect by themselves; within a few
  // tries the same store answers again.
  std::optional<std::string> got;
  for (int attempt = 0; attempt < 50 && !got; ++attempt) {
    try {
      got = await(cache.get("k"));
    } catch (const store_error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_EQ(got, "v");
}

// Writes that reach a frozen Redis (in its socket, or behind one that is)
// and time out are refused by the server when it runs again: each write
// runs only while the server's clock is before its deadline, so nothing a
// caller was told timed out is applied after it.
void timed_out_writes_stay_unwritten(const std::string& pool) {
  runtime rt;
  auto cache = rt.open_cache(with_param(
      redis_uri(),
      "timeout_ms=500&pool=" + pool + "&namespace=late" + unique_token()));
  await(cache.set("old", "1"));
  await(cache.set("n", "5"));
  {
    frozen stop(redis_pid());
    auto set = cache.set("a", "x");
    auto mset = cache.mset({{"b", "x", std::nullopt}, {"c", "x", 60000}});
    auto del = cache.del({"old"});
    auto incr = cache.incr("n", 1);
    auto add = cache.add("d", "x");
    auto expire = cache.expire("n", 1);
    auto timed_out = [](auto f) {
      try {
        await(std::move(f));
      } catch (const store_error& e) {
        return e.code() == errc::timeout;
      }
      return false;
    };
    EXPECT_TRUE(timed_out(std::move(set)));
    EXPECT_TRUE(timed_out(std::move(mset)));
    EXPECT_TRUE(timed_out(std::move(del)));
    EXPECT_TRUE(timed_out(std::move(incr)));
    EXPECT_TRUE(timed_out(std::move(add)));
    EXPECT_TRUE(timed_out(std::move(expire)));
    // Long enough past every deadline that a late write would show.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  }
  std::vector<std::optional<std::string>> got;
  for (int attempt = 0; attempt < 50 && got.empty(); ++attempt) {
    try {
      got = await(cache.mget({"a", "b", "c", "d", "old", "n"}));
    } catch (const store_error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  using opt = std::optional<std::string>;
  EXPECT_EQ(got, (std::vector<opt>{std::nullopt, std::nullopt, std::nullopt,
                                   std::nullopt, opt("1"), opt("5")}));
  EXPECT_FALSE(await(cache.ttl("n")).ttl.has_value());
  // Writes on time still go through.
  await(cache.set("a", "y"));
  EXPECT_EQ(await(cache.get("a")), "y");
}

TEST(ServerPaused, RedisWritesThatTimedOutAreNotAppliedAfterTheirDeadline) {
  timed_out_writes_stay_unwritten("1");
  timed_out_writes_stay_unwritten("4");
}

// The same for PostgreSQL: a write that waited in a frozen backend's socket
// past its deadline is refused when the backend runs again.
TEST(ServerPaused, PgvectorWritesThatTimedOutAreNotAppliedAfterTheirDeadline) {
  runtime rt;
  auto store = rt.open_vector(with_param(pgvector_uri(), "timeout_ms=500"));
  auto coll = "late" + unique_token();
  await(store.create_collection({coll, 2, metric::l2}));
  auto rec = [](const std::string& id) {
    vector_record r;
    r.id = id;
    r.embedding = {1, 0};
    return r;
  };
  await(store.upsert(coll, {rec("w")}));
  {
    auto pids = pg_backends();
    std::vector<frozen> stopped;
    stopped.reserve(pids.size());  // never moved: a moved copy would thaw
    for (auto pid : pids) stopped.emplace_back(pid);
    auto upsert = store.upsert(coll, {rec("a")});
    auto remove = store.remove(coll, {"w"});
    EXPECT_THROW(await(std::move(upsert)), store_error);
    EXPECT_THROW(await(std::move(remove)), store_error);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  }
  std::vector<vector_record> got;
  for (int attempt = 0; attempt < 50 && got.empty(); ++attempt) {
    try {
      got = await(store.get(coll, {"a", "w"}));
    } catch (const store_error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, "w");
  // Writes on time still go through.
  await(store.upsert(coll, {rec("a")}));
  EXPECT_EQ(await(store.count(coll)), 2u);
  await(store.drop_collection(coll));
}

// The Chroma server's pid, from the pid file scripts/services.sh keeps.
pid_t chroma_pid() {
  auto* dir = std::getenv("STORAGE_SERVICES_DIR");
  auto file = (dir ? std::string(dir)
                   : std::string(STORAGE_SOURCE_DIR) + "/build/services") +
              "/chroma/chroma.pid";
  auto text = srv::shell("cat '" + file + "'");
  EXPECT_FALSE(text.empty()) << "no pid in " << file;
  return text.empty() ? 0 : static_cast<pid_t>(std::stol(text));
}

// A request on a kept-alive connection to a frozen Chroma is a timeout (a
// slow server), not backend_unavailable: the connection stood, it had no
// connect time of its own.
TEST(ServerPaused, ChromaRequestsOnAnOpenConnectionTimeOut) {
  runtime rt;
  auto vs = rt.open_vector(with_param(chroma_uri(), "timeout_ms=800"));
  auto c = "paused" + unique_token();
  await(vs.create_collection({c, 2, metric::l2}));
  await(vs.upsert(c, {{"a", {1, 0}, {}, std::nullopt}}));
  {
    frozen stop(chroma_pid());
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(fails_with(errc::timeout, [&] {
      await(vs.upsert(c, {{"b", {0, 1}, {}, std::nullopt}}));
    }));
    EXPECT_LT(std::chrono::steady_clock::now() - start,
              std::chrono::seconds(2));
  }
  std::optional<std::uint64_t> n;
  for (int attempt = 0; attempt < 50 && !n; ++attempt) {
    try {
      n = await(vs.count(c));
    } catch (const store_error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_TRUE(n.has_value());
  await(vs.drop_collection(c));
}

// A mirrored TTL counts from the write, not from when the mirror left the
// router: with Redis frozen (reverse replication after cutover), the first
// mirror is stuck on its way and the next waits in the router's log; that
// one must expire in Redis when it does where it was written, not 1.5 s
// later. (The first is late by the server's own pause, as a direct client's
// would be: Redis counts a TTL from when it runs the command.)
TEST(ServerPaused, AMirroredKeyKeepsItsExpiry) {
  auto ns = "mirrorttl" + unique_token();
  auto redis = with_param(redis_uri(), "namespace=" + ns);
  auto sqlite = "sqlite://" + fresh_dir() + "/c.db";
  runtime rt;
  auto cache = rt.open_cache(redis);
  auto m = rt.migrate_live(redis, sqlite);
  m.wait();
  ASSERT_TRUE(m.progress().mirroring_back);
  auto written = std::chrono::steady_clock::now();
  {
    frozen stop(redis_pid());
    await(cache.set("first", "v", 60000));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    await(cache.set("k", "v", 60000));
    written = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  }
  m.abort();  // returns once Redis caught up and serves again
  auto pttl = std::stol(srv::redis_cli("PTTL " + ns + ":k"));
  auto since = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - written)
                   .count();
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 60000 - since + 50) << "written " << since << " ms ago";
  EXPECT_EQ(await(cache.get("k")), std::optional<std::string>("v"));
  await(cache.clear());
}

// A Redis cache of its own (pool=1, timeout_ms=2000) whose server is then
// frozen, and an actor that sends it sets and notes when each is answered.
struct sets_on_frozen_redis {
  using clock = std::chrono::steady_clock;

  explicit sets_on_frozen_redis(const std::string& ns)
      : cache(rt.open_cache(with_param(
            redis_uri(), "pool=1&timeout_ms=2000&namespace=" + ns))) {
    await(cache.set("k", "v"));
    stop.emplace(redis_pid());
    start = clock::now();
  }

  auto set(const std::string& key) {
    return self->request(cache.actor(), caf::infinite, cset_atom::value,
                         cache_entry{key, "written", {}});
  }

  // Milliseconds since the server froze.
  long elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() -
                                                                 start)
        .count();
  }

  // Waits for a set's answer, expects timeout, and says when it came.
  template <class Handle>
  long answer(Handle& handle, const char* what = "") {
    errc code = errc::ok;
    handle.receive(
        [](bool) {},
        [&](caf::error& e) { code = from_caf_error(e, "set", "").code(); });
    auto at = elapsed();
    EXPECT_EQ(code, errc::timeout) << what;
    return at;
  }

  runtime rt;
  cache_store cache;
  caf::scoped_actor self{rt.system()};
  std::optional<frozen> stop;
  clock::time_point start;
};

// An actor's requests queued behind one stuck on a frozen server: the stuck
// one times out and drops its connection, and those behind it must not
// spend more than their own deadline reconnecting to the frozen server
// (the new connection's setup once waited a whole timeout_ms more).
TEST(ServerPaused, RequestsQueuedBehindAStuckOneEndByTheirOwnDeadline) {
  sets_on_frozen_redis f("queued" + unique_token());
  auto stuck = f.set("w0");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::vector<decltype(stuck)> queued;
  for (int i = 1; i <= 5; ++i) queued.push_back(f.set("q" + std::to_string(i)));
  // w0's deadline is at 2000 ms, the others' at 3000 ms.
  EXPECT_LT(f.answer(stuck, "w0"), 2600);
  for (auto& q : queued) EXPECT_LT(f.answer(q, "a queued set"), 3600);
  f.stop->thaw();
  // None of the timed-out sets is written once the server runs again.
  std::optional<std::string> got;
  for (int attempt = 0; attempt < 50; ++attempt) {
    try {
      got = await(f.cache.get("q5"));
      break;
    } catch (const store_error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_EQ(got, std::nullopt);
  for (const char* k : {"q1", "q2", "q3", "q4"})
    EXPECT_EQ(await(f.cache.get(k)), std::nullopt) << k;
  await(f.cache.clear());
}

// Requests with deadlines far apart that queued behind a stuck one run as
// one pipeline only where their deadlines are close: each ends by its own
// deadline, not by the last one's (a batch once waited for its latest).
TEST(ServerPaused, QueuedRequestsWithDeadlinesApartEndByTheirOwn) {
  sets_on_frozen_redis f("apart" + unique_token());
  auto stuck = f.set("w0");  // its deadline: 2000 ms
  std::vector<std::pair<decltype(stuck), long>> queued;  // and deadline
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_until(f.start + std::chrono::milliseconds(1000) +
                                  i * std::chrono::milliseconds(700));
    auto sent = f.elapsed();
    queued.emplace_back(f.set("q" + std::to_string(i)), sent + 2000);
  }
  f.answer(stuck);
  for (auto& [q, deadline] : queued) {
    auto at = f.answer(q);
    EXPECT_LT(at, deadline + 400) << "deadline " << deadline;
    EXPECT_GT(at, deadline - 100) << "deadline " << deadline;
  }
  f.stop->thaw();
  for (int attempt = 0; attempt < 50; ++attempt) {
    try {
      await(f.cache.clear());
      break;
    } catch (const store_error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace
}  // namespace storage::srv
