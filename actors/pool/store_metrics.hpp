// A store's counters, always on: per operation the requests answered, the
// errors by code and a latency histogram; the pool's reconnects and
// respawns; a cache's pipelined batches; a live migration's mirror lag.
// Every thread that answers a request (a worker, a caller running one
// inline, the dispatcher turning one away, the router) adds to them with
// relaxed atomic increments: no lock and no allocation on the request
// path. The counters are striped by CPU, so threads answering requests of
// the same store at once do not fight over one cache line (measured in
// bench/metrics_bench.cpp); a snapshot sums the stripes, and one taken
// meanwhile may see a request in its histogram but not yet in its sum.
//
// The operational events counted here (overload, reconnect, respawn) are
// also logged, at most once per store and interval (event_throttle.hpp).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "actors/pool/event_throttle.hpp"
#include "actors/pool/store_op.hpp"
#include "messages/errors.hpp"
#include "messages/store_stats.hpp"

namespace storage {

class store_metrics {
 public:
  using clock = std::chrono::steady_clock;

  // One answered request of `op` that started (was handed to the store) at
  // `start`, with `code` (errc::ok for success); returns when it ended (the
  // clock read it took). A zero start marks a request the store made itself
  // (a migration's): not counted, and a zero time is returned.
  clock::time_point record(store_op op, errc code, clock::time_point start) {
    if (start == clock::time_point{}) return start;
    auto now = clock::now();
    record_latency(op, code, now - start);
    return now;
  }
  void record_latency(store_op op, errc code, clock::duration took);

  void reconnected() { reconnects_.fetch_add(1, std::memory_order_relaxed); }
  void respawned() { respawns_.fetch_add(1, std::memory_order_relaxed); }
  // A worker ran `depth` callers' requests in one batch (a cache pipeline,
  // a faiss:// shard's upserts as one). A migration's own requests in it
  // are left out of `depth`, as record() leaves them out; a batch of only
  // those (depth 0) is not counted.
  void batch_ran(std::size_t depth);
  void set_mirror_lag(std::size_t n) {
    mirror_lag_.store(n, std::memory_order_relaxed);
  }
  std::uint64_t mirror_lag() const {
    return mirror_lag_.load(std::memory_order_relaxed);
  }

  // The counters, into `out` (its ops, reconnects, respawns and batches).
  void snapshot(store_stats& out) const;

  // Once per store and 10 s each (see event_throttle.hpp).
  event_throttle overload_log;
  event_throttle lost_log;
  event_throttle reconnect_log;
  event_throttle respawn_log;

 private:
  static constexpr std::size_t code_count =
      static_cast<std::size_t>(errc::internal) + 1;
  // The requests of an operation are the sum of its buckets.
  struct alignas(64) op_counters {
    std::atomic<std::uint64_t> sum_ns{0};
    std::atomic<std::uint64_t> max_ns{0};
    std::array<std::atomic<std::uint64_t>, latency_buckets> buckets{};
    std::array<std::atomic<std::uint64_t>, code_count> errors{};
  };
  static constexpr std::size_t stripes = 8;
  static std::size_t stripe();
  std::array<std::array<op_counters, store_op_count>, stripes> ops_{};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::uint64_t> respawns_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> batched_{0};
  std::atomic<std::uint64_t> max_depth_{0};
  std::atomic<std::uint64_t> mirror_lag_{0};
};

}  // namespace storage
