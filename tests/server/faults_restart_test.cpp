// A server stopped while 8 threads keep calling it, then started again: every
// request is answered (backend_unavailable or timeout while it is down, never
// a hang or another code), and traffic succeeds again through the same
// runtime and the same handles. PostgreSQL and Chroma keep their data across
// the restart.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/runtime.hpp"
#include "server_support.hpp"

namespace storage::srv {
namespace {

constexpr int callers = 8;
// Each request has a 2 s deadline (timeout_ms=2000 in the URIs below); a
// future still pending long after it counts as a hang.
constexpr auto bound = 15s;

struct traffic {
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, unavailable{0}, timeouts{0}, hung{0}, other{0};
  std::atomic<int> failed_while_down{0};
  std::atomic<bool> down{false};
  std::atomic<std::int64_t> restarted_at{0};
  std::vector<std::atomic<std::int64_t>> last_ok =
      std::vector<std::atomic<std::int64_t>>(callers);
  std::mutex mu;
  std::vector<std::string> odd;  // answers that should not happen

  static std::int64_t now() {
    return clock_type::now().time_since_epoch().count();
  }

  void record(int caller, const outcome& o) {
    if (o.hung) {
      ++hung;
      return;
    }
    if (o.code == errc::ok) {
      ++ok;
      last_ok[caller] = now();
      return;
    }
    if (down) ++failed_while_down;
    if (o.code == errc::backend_unavailable) {
      ++unavailable;
    } else if (o.code == errc::timeout) {
      ++timeouts;
    } else {
      ++other;
      std::lock_guard<std::mutex> lock(mu);
      if (odd.size() < 10) odd.push_back(o.what);
    }
  }

  bool all_succeeded_since_restart() const {
    for (auto& t : last_ok)
      if (t.load() <= restarted_at.load()) return false;
    return true;
  }
};

// Runs `request(caller, i)` on 8 threads, stops `service` mid-traffic and
// starts it again; checks the answers; returns whether traffic recovered.
void stop_and_restart(const std::string& service,
                      std::function<outcome(int, int)> request) {
  traffic t;
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c)
    threads.emplace_back([&t, c, &request] {
      for (int i = 0; !t.stop; ++i) {
        auto o = request(c, i);
        t.record(c, o);
        if (o.hung) return;  // its future is abandoned; stop this caller
        if (o.code != errc::ok) std::this_thread::sleep_for(5ms);
      }
    });
  struct joiner {
    traffic& t;
    std::vector<std::thread>& threads;
    ~joiner() {
      t.stop = true;
      for (auto& th : threads) th.join();
    }
  } join{t, threads};

  EXPECT_TRUE(eventually([&] { return t.ok >= 8 * callers; }, 30s))
      << "traffic did not get going: " << t.ok.load() << " ok";
  {
    stopped_service guard(service);
    t.down = true;
    auto before = t.failed_while_down.load();
    // While it is down, every caller keeps getting answers.
    EXPECT_TRUE(eventually(
        [&] { return t.failed_while_down - before >= 4 * callers; }, 30s))
        << "requests did not fail while " << service << " was down";
    std::this_thread::sleep_for(1s);
    t.down = false;
    t.restarted_at = traffic::now();
    ASSERT_EQ(guard.start(), 0) << "cannot restart " << service;
  }
  // Same runtime, same handles: every caller succeeds again.
  EXPECT_TRUE(eventually([&] { return t.all_succeeded_since_restart(); }, 30s))
      << "traffic did not recover after " << service << " restarted";
  t.stop = true;
  for (auto& th : threads) th.join();
  threads.clear();

  EXPECT_EQ(t.hung.load(), 0)
      << "requests without an answer within " << bound.count() << " s";
  EXPECT_EQ(t.other.load(), 0)
      << "answers other than backend_unavailable/timeout";
  for (auto& w : t.odd) ADD_FAILURE() << "unexpected answer: " << w;
  EXPECT_GT(t.unavailable + t.timeouts, 0);
}

TEST(ServerStopped, RedisTrafficFailsCleanlyAndRecovers) {
  runtime rt;
  auto ns = "restart" + test::unique_token();
  auto cache = rt.open_cache(test::with_param(
      test::redis_uri(), "namespace=" + ns + "&pool=4&timeout_ms=2000"));
  test::await(cache.set("before", "1"));
  stop_and_restart("redis", [&](int c, int i) {
    auto key = "c" + std::to_string(c);
    if (i % 3 == 0) {
      auto f = cache.set(key, std::to_string(i));
      return settle(f, bound);
    }
    if (i % 3 == 1) {
      auto f = cache.get(key);
      return settle(f, bound);
    }
    auto f = cache.incr(key + ":n");
    return settle(f, bound);
  });
  // Written after the restart, read back through the same handle.
  test::await(cache.set("after", "2"));
  EXPECT_EQ(test::await(cache.get("after")), "2");
  test::await(cache.clear());
}

// Workers that sat idle through a restart hold connections the old server
// closed: the first request each of them gets must go out on a new one
// instead of failing, since the server is back.
TEST(ServerStopped, RedisIdleWorkersServeTheirFirstRequestAfterARestart) {
  runtime rt;
  auto ns = "idle" + test::unique_token();
  auto cache = rt.open_cache(test::with_param(
      test::redis_uri(), "namespace=" + ns + "&pool=4&timeout_ms=2000"));
  // Enough at once that every worker connects.
  std::vector<std::future<void>> warm;
  for (int i = 0; i < 64; ++i)
    warm.push_back(cache.set("k" + std::to_string(i % 8), "v"));
  for (auto& f : warm) test::await(std::move(f));
  {
    stopped_service guard("redis");
    ASSERT_EQ(guard.start(), 0) << "cannot restart redis";
  }
  std::this_thread::sleep_for(100ms);
  // One at a time (each may land on any worker), then many at once.
  for (int i = 0; i < 8; ++i) {
    auto f = cache.set("after" + std::to_string(i), "1");
    EXPECT_NO_THROW(test::await(std::move(f)))
        << "request " << i << " after the restart";
  }
  std::vector<std::future<std::optional<std::string>>> reads;
  for (int i = 0; i < 32; ++i)
    reads.push_back(cache.get("after" + std::to_string(i % 8)));
  for (auto& f : reads) {
    std::optional<std::string> got;
    EXPECT_NO_THROW(got = test::await(std::move(f)));
    EXPECT_EQ(got, std::optional<std::string>("1"));
  }
  test::await(cache.clear());
}

vector_record rec(const std::string& id, float x) {
  return vector_record{id,
                       {x, 1.0f, 0.5f, -x},
                       {{"n", std::int64_t{7}}},
                       std::string("doc ") + id};
}

// The shared vector scenario: a record written before the stop is still
// there after the restart (both servers keep their data directory).
void vector_scenario(const std::string& service, const std::string& uri) {
  runtime rt;
  auto vs = rt.open_vector(test::with_param(uri, "pool=4&timeout_ms=2000"));
  auto coll = "restart_" + test::unique_token();
  ASSERT_TRUE(test::await(vs.create_collection({coll, 4, metric::l2})));
  ASSERT_EQ(test::await(vs.upsert(coll, {rec("before", 0.25f)})), 1u);

  stop_and_restart(service, [&](int c, int i) {
    auto id = "c" + std::to_string(c) + "-" + std::to_string(i % 16);
    if (i % 3 == 0) {
      auto f = vs.upsert(coll, {rec(id, static_cast<float>(i))});
      return settle(f, bound);
    }
    if (i % 3 == 1) {
      auto f = vs.get(coll, {id, "before"});
      return settle(f, bound);
    }
    search_request req;
    req.query = {0.25f, 1.0f, 0.5f, -0.25f};
    req.k = 3;
    auto f = vs.search(coll, req);
    return settle(f, bound);
  });

  auto got = test::await(vs.get(coll, {"before"}));
  ASSERT_EQ(got.size(), 1u) << "the record written before the stop is gone";
  EXPECT_EQ(got[0], rec("before", 0.25f));
  search_request req;
  req.query = {0.25f, 1.0f, 0.5f, -0.25f};
  req.k = 1;
  auto hits = test::await(vs.search(coll, req));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, "before");
  EXPECT_NEAR(hits[0].distance, 0.0, 1e-9);
  EXPECT_TRUE(test::await(vs.drop_collection(coll)));
}

TEST(ServerStopped, PostgresTrafficFailsCleanlyAndRecoversWithItsData) {
  vector_scenario("postgres", test::pgvector_uri());
}

TEST(ServerStopped, ChromaTrafficFailsCleanlyAndRecoversWithItsData) {
  vector_scenario("chroma", test::chroma_uri());
}

}  // namespace
}  // namespace storage::srv
