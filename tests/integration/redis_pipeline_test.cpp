// Redis through the runtime under concurrency: a worker that finds requests
// waiting in its mailbox runs them as one pipeline. The answers must be the
// same as one request at a time — right values, per-key order, per-request
// errors — and the workers' own counters must show fewer adapter calls than
// requests.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <thread>

#include "actors/pool/store_worker.hpp"
#include "actors/routing/cache_router.hpp"
#include "runtime/runtime.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

constexpr int callers = 64;
constexpr int rounds = 100;

struct worker_counts {
  std::uint64_t requests = 0;
  std::uint64_t calls = 0;
};

// Sums (single-key requests, adapter calls) over the store's workers.
worker_counts counts_of(runtime& rt, const cache_store& cache) {
  caf::scoped_actor self{rt.system()};
  std::vector<caf::actor> workers;
  self->request(caf::actor_cast<cache_router_actor>(cache.actor()),
                caf::infinite, workers_atom::value)
      .receive([&](std::vector<caf::actor>& ws) { workers = std::move(ws); },
               [&](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
  worker_counts sum;
  for (auto& w : workers) {
    if (!w) continue;
    self->request(w, caf::infinite, wstats_atom::value)
        .receive(
            [&](std::uint64_t requests, std::uint64_t calls) {
              sum.requests += requests;
              sum.calls += calls;
            },
            [&](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
  }
  return sum;
}

// Each caller fires its requests without waiting, so the two workers'
// mailboxes fill up: sets then a get on its own key, increments of its own
// counter and of a shared one, and an incr on a text value that must fail
// alone.
void hammer(cache_store& cache) {
  await(cache.set("text", "not a number"));
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c)
    threads.emplace_back([&, c] {
      auto key = "k" + std::to_string(c);
      auto counter = "n" + std::to_string(c);
      std::vector<std::future<void>> sets;
      std::vector<std::future<std::int64_t>> incrs, shared;
      for (int i = 0; i < rounds; ++i) {
        sets.push_back(cache.set(key, std::to_string(i)));
        incrs.push_back(cache.incr(counter, 1));
        shared.push_back(cache.incr("shared", 1));
      }
      auto bad = cache.incr("text", 1);
      for (auto& f : sets) await(std::move(f));
      // Writes to one key keep their order: the last one stays, and the
      // counter's increments answer 1, 2, 3... in the order they were sent.
      EXPECT_EQ(await(cache.get(key)), std::to_string(rounds - 1));
      for (int i = 0; i < rounds; ++i)
        EXPECT_EQ(await(std::move(incrs[i])), i + 1) << "caller " << c;
      for (auto& f : shared) await(std::move(f));
      EXPECT_TRUE(
          fails_with(errc::type_mismatch, [&] { await(std::move(bad)); }));
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(await(cache.get("shared")), std::to_string(callers * rounds));
  EXPECT_EQ(await(cache.get("text")), "not a number");
}

std::string redis_store(const std::string& extra) {
  return with_param(redis_uri(), "pool=2&max_inflight=100000&namespace=pipe" +
                                     unique_token() + extra);
}

TEST(redis_pipeline, concurrent_callers_are_batched_and_answered_correctly) {
  runtime rt;
  auto cache = rt.open_cache(redis_store(""));
  hammer(cache);
  auto n = counts_of(rt, cache);
  RecordProperty("requests", std::to_string(n.requests));
  RecordProperty("adapter_calls", std::to_string(n.calls));
  // 3 requests per round and caller, plus the final get and the bad incr.
  EXPECT_GE(n.requests, std::uint64_t(callers) * (3 * rounds + 2));
  // 64 callers with 300 requests each in flight: requests shared round
  // trips, at least two per pipeline on average (about 4 on a loaded
  // 2-core machine, 48 on a quiet one).
  EXPECT_LT(n.calls * 2, n.requests)
      << n.calls << " adapter calls for " << n.requests << " requests";
  await(cache.clear());
}

TEST(redis_pipeline, pipeline_off_answers_the_same_one_call_per_request) {
  runtime rt;
  auto cache = rt.open_cache(redis_store("&pipeline=0"));
  hammer(cache);
  auto n = counts_of(rt, cache);
  EXPECT_GE(n.requests, std::uint64_t(callers) * (3 * rounds + 2));
  EXPECT_EQ(n.calls, n.requests);
  await(cache.clear());
}

// One caller at a time never waits for a batch: each request runs at once.
TEST(redis_pipeline, a_lone_caller_is_never_batched) {
  runtime rt;
  auto cache = rt.open_cache(redis_store(""));
  for (int i = 0; i < 200; ++i) {
    await(cache.set("k", std::to_string(i)));
    EXPECT_EQ(await(cache.get("k")), std::to_string(i));
  }
  auto n = counts_of(rt, cache);
  EXPECT_EQ(n.requests, 400u);
  EXPECT_EQ(n.calls, 400u);
  await(cache.clear());
}

// A whole-namespace request is not batched, but it waits for the batch
// ahead of it: one worker, so clear must see every set sent before it.
TEST(redis_pipeline, clear_runs_after_the_requests_sent_before_it) {
  runtime rt;
  auto cache = rt.open_cache(
      with_param(redis_uri(),
                 "pool=1&max_inflight=100000&namespace=pipe" + unique_token()));
  for (int round = 0; round < 5; ++round) {
    std::vector<std::future<void>> sets;
    for (int i = 0; i < 300; ++i)
      sets.push_back(cache.set("k" + std::to_string(i), "v"));
    auto cleared = cache.clear();
    for (auto& f : sets) await(std::move(f));
    EXPECT_EQ(await(std::move(cleared)), 300u) << "round " << round;
  }
  // One thread's burst may run on the thread itself, one call per request
  // (actors/pool/inline_policy.hpp), so batching is not promised here.
  auto n = counts_of(rt, cache);
  EXPECT_LE(n.calls, n.requests);
}

}  // namespace
}  // namespace storage::test
