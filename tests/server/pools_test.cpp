// pool=8 under 64 concurrent callers: each caller pipelines several writes to
// its own key without waiting and then reads back the last one (per-key
// order), nothing is lost, and the server never sees more than 8 connections
// from this runtime.
#include <gtest/gtest.h>

#include <algorithm>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/runtime.hpp"
#include "server_support.hpp"

namespace storage::srv {
namespace {

constexpr int callers = 64;
constexpr int rounds = 4;
constexpr int depth = 8;  // writes in flight per caller before it waits
// 64 callers keep up to 24 requests each in flight: the in-flight bound is
// raised (max_inflight) so this test is about order, not admission.

// Samples a connection count while the callers run; keeps the maximum.
class sampler {
 public:
  sampler(std::function<int()> count, std::chrono::milliseconds every)
      : thread_([this, count, every] {
          while (!stop_) {
            int n = count();
            int m = max_;
            while (n > m && !max_.compare_exchange_weak(m, n)) {
            }
            ++samples_;
            std::this_thread::sleep_for(every);
          }
        }) {}
  ~sampler() { finish(); }
  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int max() const { return max_; }
  int samples() const { return samples_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> max_{0}, samples_{0};
  std::thread thread_;
};

// Runs body(caller) on 64 threads at once; returns the failures' messages.
std::vector<std::string> run_callers(std::function<void(int)> body) {
  std::mutex mu;
  std::vector<std::string> failures;
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c)
    threads.emplace_back([&, c] {
      ++ready;
      while (ready < callers) std::this_thread::yield();
      try {
        body(c);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back("caller " + std::to_string(c) + ": " + e.what());
      }
    });
  for (auto& t : threads) t.join();
  return failures;
}

template <class T>
void wait_all(std::vector<std::future<T>>& fs) {
  for (auto& f : fs) test::await(std::move(f));
  fs.clear();
}

TEST(Pools, RedisKeepsPerKeyOrderLosesNothingAndUsesAtMost8Connections) {
  auto ns = "pool" + test::unique_token() + "n";
  auto port = port_of(test::redis_uri());
  runtime rt;
  auto c = rt.open_cache(test::with_param(
      test::redis_uri(), "namespace=" + ns + "&pool=8&max_inflight=4096"));
  // Connections this process holds, and the ones the server lists for them.
  sampler own([port] { return static_cast<int>(own_connections(port).size()); },
              20ms);
  auto server_seen = [port] {
    auto mine = own_connections(port);
    auto list = redis_cli("CLIENT LIST");
    int n = 0;
    for (auto p : mine)
      if (list.find("addr=127.0.0.1:" + std::to_string(p) + " ") !=
          std::string::npos)
        ++n;
    return n;
  };
  sampler seen(server_seen, 100ms);

  auto failures = run_callers([&](int id) {
    auto key = "k" + std::to_string(id);
    for (int r = 0; r < rounds; ++r) {
      std::vector<std::future<void>> sets;
      std::vector<std::future<std::int64_t>> incrs;
      for (int j = 0; j < depth; ++j) {
        sets.push_back(c.set(key, std::to_string(r) + "-" + std::to_string(j)));
        incrs.push_back(c.incr("total"));
        incrs.push_back(c.incr(key + ":n"));
      }
      wait_all(sets);
      wait_all(incrs);
      auto last = test::await(c.get(key));
      if (last != std::to_string(r) + "-" + std::to_string(depth - 1))
        throw std::runtime_error("key " + key + " ends with " +
                                 last.value_or("nil") + " after round " +
                                 std::to_string(r));
    }
  });
  own.finish();
  seen.finish();
  for (auto& f : failures) ADD_FAILURE() << f;

  EXPECT_EQ(test::await(c.get("total")),
            std::to_string(callers * rounds * depth));
  for (int id = 0; id < callers; ++id)
    EXPECT_EQ(test::await(c.get("k" + std::to_string(id) + ":n")),
              std::to_string(rounds * depth));
  EXPECT_GE(own.samples(), 1);
  // The pool really works in parallel, on at most 8 connections. A fast run
  // may end between two samples: the connections it opened are still held.
  auto held = static_cast<int>(own_connections(port).size());
  EXPECT_GE(std::max(own.max(), held), 2);
  EXPECT_LE(own.max(), 8);
  EXPECT_LE(held, 8);
  EXPECT_LE(seen.max(), 8);
  // Idle now, the workers keep their connections, and the server lists them.
  auto after = server_seen();
  EXPECT_GE(after, 2);
  EXPECT_LE(after, 8);
  test::await(c.clear());
}

vector_record rec(const std::string& id, int seq) {
  return vector_record{id,
                       {static_cast<float>(seq), 1.0f, 0.0f, -1.0f},
                       {{"seq", std::int64_t(seq)}},
                       std::nullopt};
}

// The vector scenario: each caller upserts its own id `depth` times without
// waiting, plus one fresh id per write; then the last write is what is
// stored, and every fresh id is there.
void vector_pool(const std::string& uri, std::function<int()> server_count,
                 std::uint16_t port, int rounds, int depth) {
  runtime rt;
  auto vs = rt.open_vector(test::with_param(uri, "pool=8&max_inflight=4096"));
  auto coll = "pool_" + test::unique_token();
  ASSERT_TRUE(test::await(vs.create_collection({coll, 4, metric::l2})));
  struct drop {
    vector_store& vs;
    std::string coll;
    ~drop() {
      try {
        test::await(vs.drop_collection(coll));
      } catch (const std::exception&) {
        // Best effort: the test already reported any failure.
      }
    }
  } cleanup{vs, coll};
  sampler own([port] { return static_cast<int>(own_connections(port).size()); },
              20ms);
  sampler seen(server_count, 150ms);

  auto failures = run_callers([&](int id) {
    auto key = "c" + std::to_string(id);
    for (int r = 0; r < rounds; ++r) {
      std::vector<std::future<std::uint64_t>> writes;
      for (int j = 0; j < depth; ++j) {
        int seq = r * depth + j;
        writes.push_back(vs.upsert(coll, {rec(key, seq)}));
        writes.push_back(
            vs.upsert(coll, {rec(key + "-" + std::to_string(seq), seq)}));
      }
      wait_all(writes);
      auto got = test::await(vs.get(coll, {key}));
      if (got.size() != 1 || !(got[0] == rec(key, r * depth + depth - 1)))
        throw std::runtime_error("id " + key +
                                 " does not hold its last write " +
                                 "after round " + std::to_string(r));
    }
  });
  own.finish();
  seen.finish();
  for (auto& f : failures) ADD_FAILURE() << f;

  EXPECT_EQ(test::await(vs.count(coll)),
            std::uint64_t(callers * (1 + rounds * depth)));
  for (int id = 0; id < callers; ++id) {
    std::vector<std::string> ids;
    for (int seq = 0; seq < rounds * depth; ++seq)
      ids.push_back("c" + std::to_string(id) + "-" + std::to_string(seq));
    EXPECT_EQ(test::await(vs.get(coll, ids)).size(), ids.size()) << id;
  }
  // The pool really works in parallel, on at most 8 connections (held
  // still, should the run have ended between two samples).
  auto held = static_cast<int>(own_connections(port).size());
  EXPECT_GE(std::max(own.max(), held), 2);
  EXPECT_LE(own.max(), 8);
  EXPECT_LE(held, 8);
  EXPECT_LE(seen.max(), 8);
  // Idle now, the workers keep their connections, and the server sees them.
  auto after = server_count();
  EXPECT_GE(after, 2);
  EXPECT_LE(after, 8);
}

TEST(Pools, PgvectorKeepsPerIdOrderLosesNothingAndUsesAtMost8Connections) {
  auto app = "storage-runtime/" + std::to_string(::getpid());
  vector_pool(
      test::pgvector_uri(),
      [app] {
        auto out = psql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
            app + "'");
        return std::atoi(out.c_str());
      },
      port_of(test::pgvector_uri()), rounds, depth);
}

TEST(Pools, ChromaKeepsPerIdOrderLosesNothingAndUsesAtMost8Connections) {
  auto port = port_of(test::chroma_uri());
  // One Chroma server applies upserts one at a time (~30 ms each here), far
  // slower than PostgreSQL: fewer writes and a longer deadline, since the
  // test is about order and connections, not throughput.
  vector_pool(
      test::with_param(test::chroma_uri(), "timeout_ms=120000"),
      [port] { return static_cast<int>(own_connections(port).size()); }, port,
      1, 4);
}

}  // namespace
}  // namespace storage::srv
