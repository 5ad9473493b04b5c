// Many callers on one store: nothing lost, per-key order kept, the in-flight
// bound answered with `overloaded`, and never a hang.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "runtime/runtime.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

constexpr int callers = 16;
constexpr int rounds = 200;

class concurrency : public ::testing::TestWithParam<std::string> {
 protected:
  std::string uri() {
    auto base = GetParam();
    if (base == "sqlite") base = "sqlite://" + fresh_dir() + "/c.db?pool=4";
    if (base == "redis") base = with_param(redis_uri(), "pool=4");
    return with_param(base, "namespace=conc" + unique_token());
  }
  runtime rt;
};

// 16 callers increment 8 shared counters: every increment counts once.
TEST_P(concurrency, concurrent_increments_are_never_lost) {
  auto cache = rt.open_cache(uri());
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c)
    threads.emplace_back([&, c] {
      for (int i = 0; i < rounds; ++i)
        await(cache.incr("counter" + std::to_string((c + i) % 8), 1));
    });
  for (auto& t : threads) t.join();
  std::int64_t total = 0;
  for (int k = 0; k < 8; ++k) {
    auto v = await(cache.get("counter" + std::to_string(k)));
    ASSERT_TRUE(v.has_value());
    total += std::stoll(*v);
  }
  EXPECT_EQ(total, callers * rounds);
}

// Each caller fires its writes to overlapping keys without waiting; the last
// write a caller issued to its key is the one that stays.
TEST_P(concurrency, per_key_order_holds_for_pipelined_writes) {
  // 16 x 201 writes in flight at once: raise the bound above that.
  auto cache = rt.open_cache(with_param(uri(), "max_inflight=100000"));
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c)
    threads.emplace_back([&, c] {
      std::vector<std::future<void>> inflight;
      auto key = "k" + std::to_string(c);
      for (int i = 0; i < rounds; ++i)
        inflight.push_back(cache.set(key, std::to_string(i)));
      // Overlap: everyone also writes a shared key, ending with its id.
      inflight.push_back(cache.set("shared", "c" + std::to_string(c)));
      for (auto& f : inflight) await(std::move(f));
      EXPECT_EQ(await(cache.get(key)), std::to_string(rounds - 1));
    });
  for (auto& t : threads) t.join();
  auto shared = await(cache.get("shared"));
  ASSERT_TRUE(shared.has_value());
  EXPECT_EQ(shared->at(0), 'c');
}

TEST_P(concurrency, beyond_the_bound_requests_fail_fast_with_overloaded) {
  auto cache = rt.open_cache(with_param(uri(), "max_inflight=4"));
  // Eight callers issue bursts without waiting. memory:// runs a request on
  // the caller's thread when its worker is idle, so only callers overlapping
  // in time exceed the bound: the bursts go on until one request was turned
  // away (every failure is checked to be that), for at most five seconds.
  std::atomic<int> ok{0}, overloaded{0}, other{0};
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c)
    callers.emplace_back([&, c] {
      while (overloaded == 0 && std::chrono::steady_clock::now() < until) {
        std::vector<std::future<void>> fs;
        for (int i = 0; i < 100; ++i)
          fs.push_back(cache.set(
              "key" + std::to_string(c) + "_" + std::to_string(i % 50), "v"));
        for (auto& f : fs) {
          try {
            await(std::move(f));
            ++ok;
          } catch (const store_error& e) {
            if (e.code() == errc::overloaded)
              ++overloaded;
            else
              ++other;
          }
        }
      }
    });
  for (auto& t : callers) t.join();
  EXPECT_GT(ok, 0);
  EXPECT_GT(overloaded, 0);
  EXPECT_EQ(other, 0);
  // The store still serves once the burst is over.
  await(cache.set("after", "burst"));
  EXPECT_EQ(await(cache.get("after")), "burst");
}

INSTANTIATE_TEST_SUITE_P(caches, concurrency,
                         ::testing::Values("memory://?pool=4", "sqlite",
                                           "redis"),
                         [](const auto& info) {
                           auto& p = info.param;
                           return p.substr(0, p.find(':'));
                         });

// Vectors: 16 callers upsert overlapping ids into one faiss collection while
// searching; afterwards every id holds the last version its owner wrote.
TEST(concurrency_vectors, overlapping_upserts_keep_the_last_write) {
  runtime rt;
  auto vs = rt.open_vector("faiss://" + fresh_dir() + "?pool=3");
  await(vs.create_collection({"conc", 4, metric::l2}));
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c)
    threads.emplace_back([&, c] {
      for (int i = 0; i < 50; ++i) {
        // Ids overlap between callers; only caller c writes version c*1000+i
        vector_record r{"id" + std::to_string((c * 7 + i) % 40),
                        {float(c), float(i), 1, 1},
                        {{"writer", std::int64_t(c)}},
                        std::nullopt};
        await(vs.upsert("conc", {r}));
        search_request q;
        q.query = {1, 1, 1, 1};
        q.k = 5;
        EXPECT_LE(await(vs.search("conc", q)).size(), 5u);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(await(vs.count("conc")), 40u);
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) ids.push_back("id" + std::to_string(i));
  auto got = await(vs.get("conc", ids));
  EXPECT_EQ(got.size(), 40u);
  for (auto& r : got) EXPECT_EQ(r.embedding.size(), 4u);
}

}  // namespace
}  // namespace storage::test
