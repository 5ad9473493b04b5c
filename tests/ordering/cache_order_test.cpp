// A caller's un-awaited cache operations take effect in the order issued, at
// every pool size and on every backend: several callers at once, each
// issuing a random mix of sets, gets, deletes, msets, increments and clears
// without waiting, checked against a sequential model of its own namespace.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <thread>
#include <variant>

#include "runtime/runtime.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

constexpr int callers = 4;
constexpr int ops_per_caller = 240;

struct order_case {
  std::string backend;  // memory, sqlite, redis
  int pool;
};

std::string case_name(const ::testing::TestParamInfo<order_case>& info) {
  return info.param.backend + "_pool" + std::to_string(info.param.pool);
}

class cache_order : public ::testing::TestWithParam<order_case> {
 protected:
  std::string uri_for(int caller, const std::string& dir) {
    auto& p = GetParam();
    std::string base;
    if (p.backend == "memory") base = "memory://";
    if (p.backend == "sqlite") base = "sqlite://" + dir + "/order.db";
    if (p.backend == "redis") base = redis_uri();
    base = with_param(base, "pool=" + std::to_string(p.pool));
    return with_param(
        base, "namespace=ord" + std::to_string(caller) + "_" + unique_token());
  }
  runtime rt;
};

// What a future must yield, decided by the model when the op was issued.
using expected = std::variant<std::monostate, std::optional<std::string>,
                              std::uint64_t, bool, std::int64_t>;

struct pending {
  std::string what;
  std::function<expected()> get;
  expected want;
};

void run_caller(cache_store cache, unsigned seed) {
  std::mt19937 rng(seed);
  std::map<std::string, std::string> model;
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const std::vector<std::string> keys = {"a", "b", "c", "d", "e"};
  const std::vector<std::string> counters = {"n0", "n1"};
  std::vector<pending> log;
  for (int i = 0; i < ops_per_caller; ++i) {
    auto tag = "#" + std::to_string(i);
    int op = pick(100);
    if (op < 30) {
      auto k = keys[pick(5)];
      auto v = "v" + std::to_string(i);
      auto f = std::make_shared<std::future<void>>(cache.set(k, v));
      log.push_back({tag + " set " + k,
                     [f] {
                       await(std::move(*f));
                       return expected{};
                     },
                     {}});
      model[k] = v;
    } else if (op < 55) {
      auto k = pick(3) == 0 ? counters[pick(2)] : keys[pick(5)];
      auto f = std::make_shared<std::future<std::optional<std::string>>>(
          cache.get(k));
      std::optional<std::string> want;
      if (auto it = model.find(k); it != model.end()) want = it->second;
      log.push_back({tag + " get " + k,
                     [f] { return expected{await(std::move(*f))}; }, want});
    } else if (op < 67) {
      std::vector<std::string> ks = {keys[pick(5)], keys[pick(5)]};
      if (ks[0] == ks[1]) ks.pop_back();
      std::uint64_t n = 0;
      for (auto& k : ks) n += model.erase(k);
      auto f = std::make_shared<std::future<std::uint64_t>>(cache.del(ks));
      log.push_back(
          {tag + " del", [f] { return expected{await(std::move(*f))}; }, n});
    } else if (op < 77) {
      std::vector<cache_entry> es;
      for (auto& k : {keys[pick(5)], keys[pick(5)]})
        if (es.empty() || es[0].key != k)
          es.push_back({k, "m" + std::to_string(i), {}});
      for (auto& e : es) model[e.key] = e.value;
      auto f = std::make_shared<std::future<void>>(cache.mset(es));
      log.push_back({tag + " mset",
                     [f] {
                       await(std::move(*f));
                       return expected{};
                     },
                     {}});
    } else if (op < 90) {
      auto k = counters[pick(2)];
      auto by = static_cast<std::int64_t>(pick(5) + 1);
      auto next = (model.count(k) ? std::stoll(model[k]) : 0) + by;
      model[k] = std::to_string(next);
      auto f = std::make_shared<std::future<std::int64_t>>(cache.incr(k, by));
      log.push_back({tag + " incr " + k,
                     [f] { return expected{await(std::move(*f))}; }, next});
    } else if (op < 95) {
      auto k = keys[pick(5)];
      auto f = std::make_shared<std::future<bool>>(cache.exists(k));
      log.push_back({tag + " exists " + k,
                     [f] { return expected{await(std::move(*f))}; },
                     model.count(k) > 0});
    } else {
      std::uint64_t n = model.size();
      model.clear();
      auto f = std::make_shared<std::future<std::uint64_t>>(cache.clear());
      log.push_back(
          {tag + " clear", [f] { return expected{await(std::move(*f))}; }, n});
    }
  }
  // On the caller's own thread: an exception must become a failure naming
  // the operation, not end the process.
  for (auto& p : log) try {
      EXPECT_EQ(p.get(), p.want) << p.what;
    } catch (const std::exception& e) {
      ADD_FAILURE() << p.what << ": " << e.what();
    }
  // The final state, read after everything completed.
  try {
    for (auto& k : keys) {
      std::optional<std::string> want;
      if (auto it = model.find(k); it != model.end()) want = it->second;
      EXPECT_EQ(await(cache.get(k)), want) << "final " << k;
    }
    await(cache.clear());
  } catch (const std::exception& e) {
    ADD_FAILURE() << "final state: " << e.what();
  }
}

TEST_P(cache_order, each_callers_operations_take_effect_in_issue_order) {
  auto dir = fresh_dir();
  // Every store is open, and each of its workers has answered once, before
  // any caller starts: the test is about order, not about a store starting
  // under another's traffic. Under TSan that start stalled the process for
  // seconds: CAF 0.17 registers each new thread (16 detached workers per
  // store) under a global spin lock its logger takes on every actor's
  // resume, and TSan's bookkeeping of that lock starved the registering
  // thread while a caller's 16 workers spun on it (gdb, 2026-12-05).
  std::vector<cache_store> caches;
  for (int c = 0; c < callers; ++c) {
    caches.push_back(rt.open_cache(uri_for(c, dir)));
    await(caches.back().clear());  // reaches every shard
  }
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c)
    threads.emplace_back(run_caller, caches[c],
                         7919u * (c + 1) + GetParam().pool);
  for (auto& t : threads) t.join();
}

INSTANTIATE_TEST_SUITE_P(
    backends, cache_order,
    ::testing::Values(order_case{"memory", 1}, order_case{"memory", 4},
                      order_case{"memory", 16}, order_case{"sqlite", 1},
                      order_case{"sqlite", 4}, order_case{"sqlite", 16},
                      order_case{"redis", 1}, order_case{"redis", 4},
                      order_case{"redis", 16}),
    case_name);

}  // namespace
}  // namespace storage::test
