#include "actors/pool/store_metrics.hpp"

#include <sched.h>

#include <algorithm>

namespace storage {

namespace {

std::size_t bucket_of(std::uint64_t ns) {
  auto us = ns / 1000;
  if (us == 0) return 0;
  auto width = static_cast<std::size_t>(64 - __builtin_clzll(us));
  return std::min(width, latency_buckets - 1);
}

void raise_to(std::atomic<std::uint64_t>& x, std::uint64_t v) {
  auto cur = x.load(std::memory_order_relaxed);
  while (cur < v &&
         !x.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

// The q-quantile of a histogram, interpolated within its bucket and never
// above the largest value seen.
double quantile(const op_stats& s, double q) {
  if (s.requests == 0) return 0;
  auto rank = q * static_cast<double>(s.requests);
  double seen = 0;
  for (std::size_t i = 0; i < s.buckets.size(); ++i) {
    auto n = static_cast<double>(s.buckets[i]);
    if (n > 0 && seen + n >= rank) {
      double lo = i == 0 ? 0 : latency_bound(i - 1);
      double hi = i + 1 == s.buckets.size() ? s.max : latency_bound(i);
      return std::min(s.max, lo + (hi - lo) * (rank - seen) / n);
    }
    seen += n;
  }
  return s.max;
}

}  // namespace

std::size_t store_metrics::stripe() {
  // The CPU it runs on: two threads running at once never share a stripe
  // (on up to `stripes` cores), whatever threads come and go.
  int cpu = sched_getcpu();
  return cpu < 0 ? 0 : static_cast<std::size_t>(cpu) % stripes;
}

void store_metrics::record_latency(store_op op, errc code,
                                   clock::duration took) {
  auto& c = ops_[stripe()][static_cast<std::size_t>(op)];
  auto ns = static_cast<std::uint64_t>(std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()));
  c.sum_ns.fetch_add(ns, std::memory_order_relaxed);
  c.buckets[bucket_of(ns)].fetch_add(1, std::memory_order_relaxed);
  raise_to(c.max_ns, ns);
  if (code != errc::ok) {
    auto i = std::min(static_cast<std::size_t>(code), code_count - 1);
    c.errors[i].fetch_add(1, std::memory_order_relaxed);
  }
}

void store_metrics::batch_ran(std::size_t depth) {
  if (depth == 0) return;
  batches_.fetch_add(1, std::memory_order_relaxed);
  batched_.fetch_add(depth, std::memory_order_relaxed);
  raise_to(max_depth_, depth);
}

void store_metrics::snapshot(store_stats& out) const {
  auto get = [](const std::atomic<std::uint64_t>& x) {
    return x.load(std::memory_order_relaxed);
  };
  out.reconnects = get(reconnects_);
  out.respawns = get(respawns_);
  out.batches = get(batches_);
  out.batched_requests = get(batched_);
  out.max_batch_depth = get(max_depth_);
  out.ops.clear();
  for (std::size_t k = 0; k < store_op_count; ++k) {
    op_stats s;
    s.buckets.assign(latency_buckets, 0);
    std::array<std::uint64_t, code_count> errors{};
    std::uint64_t sum_ns = 0, max_ns = 0;
    for (auto& stripe : ops_) {
      auto& c = stripe[k];
      for (std::size_t b = 0; b < latency_buckets; ++b)
        s.buckets[b] += get(c.buckets[b]);
      for (std::size_t e = 0; e < code_count; ++e)
        errors[e] += get(c.errors[e]);
      sum_ns += get(c.sum_ns);
      max_ns = std::max(max_ns, get(c.max_ns));
    }
    for (auto n : s.buckets) s.requests += n;
    if (s.requests == 0) continue;
    s.op = to_string(static_cast<store_op>(k));
    for (std::size_t e = 1; e < code_count; ++e)
      if (errors[e] > 0) s.errors[to_string(static_cast<errc>(e))] = errors[e];
    s.sum_seconds = static_cast<double>(sum_ns) / 1e9;
    s.max = static_cast<double>(max_ns) / 1e9;
    s.p50 = quantile(s, 0.5);
    s.p90 = quantile(s, 0.9);
    s.p99 = quantile(s, 0.99);
    out.ops.push_back(std::move(s));
  }
}

}  // namespace storage
