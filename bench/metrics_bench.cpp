// What the always-on metrics add to one request (issue 11: under 2% of the
// request-path benchmarks): a store_metrics::record as a worker or an
// inline caller makes it -- the clock read for the latency and the relaxed
// atomic adds -- alone, and with every thread recording into the same
// operation of the same store (the contended case). Compare with the
// fastest request path, cache/memory/get/facade/threads:1.
#include <benchmark/benchmark.h>

#include "actors/pool/store_metrics.hpp"

namespace storage {
namespace {

store_metrics& shared_metrics() {
  static store_metrics m;
  return m;
}

void record(benchmark::State& state) {
  auto& m = shared_metrics();
  auto start = store_metrics::clock::now();
  for (auto _ : state) m.record(store_op::get, errc::ok, start);
}
BENCHMARK(record)
    ->Name("metrics/record")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

// The counters alone, without the clock read.
void count(benchmark::State& state) {
  auto& m = shared_metrics();
  for (auto _ : state)
    m.record_latency(store_op::set, errc::ok, std::chrono::microseconds(3));
}
BENCHMARK(count)->Name("metrics/count")->Threads(1)->Threads(2)->UseRealTime();

void clock_read(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(store_metrics::clock::now());
}
BENCHMARK(clock_read)
    ->Name("metrics/clock_now")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

}  // namespace
}  // namespace storage
