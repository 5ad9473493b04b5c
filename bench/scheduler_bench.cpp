// CAF scheduler settings against the facade's single-caller latency and CPU
// cost: runtime_options.threads x runtime_options.poll_attempts, on a
// memory:// get (the backend costs well under a microsecond, so what is
// measured is the runtime's path).
//
//   sched/facade_get/<threads>/<poll_attempts>     (0 = the default)
//   sched/actor_get/<sqlite|redis>  an actor's get, the next from the
//                                   previous reply (the case the idle
//                                   threads' spinning serves; run with
//                                   STORAGE_SPIN=0 for the comparison)
//
// Counters beyond the back-to-back loop (measured after it, untimed):
//   sparse_p50_us, sparse_p99_us  a caller asking once per millisecond, so the
//                                 scheduler has gone idle between requests
//   sparse_cpu_pct                process CPU during that phase, % of one core
//   idle_cpu_pct                  process CPU in the 0.5 s after the last
//                                 request, % of one core
#include <thread>

#include "bench/bench_util.hpp"
#include "tests/support/servers.hpp"

namespace storage::bench {

namespace {

constexpr int sparse_requests = 300;
constexpr auto sparse_gap = std::chrono::milliseconds(1);
constexpr auto idle_window = std::chrono::milliseconds(500);

double pct(double cpu_us, std::chrono::microseconds wall) {
  return 100.0 * cpu_us / static_cast<double>(wall.count());
}

// `ask_once` is one request, timed by the caller.
template <class AskOnce>
void sparse_phase(benchmark::State& state, AskOnce ask_once) {
  std::vector<double> lat;
  auto cpu0 = process_cpu_us();
  auto wall0 = clock_type::now();
  for (int i = 0; i < sparse_requests; ++i) {
    std::this_thread::sleep_for(sparse_gap);
    ask_once(lat);
  }
  auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
      clock_type::now() - wall0);
  state.counters["sparse_cpu_pct"] = pct(process_cpu_us() - cpu0, wall);
  std::sort(lat.begin(), lat.end());
  state.counters["sparse_p50_us"] = lat[lat.size() / 2];
  state.counters["sparse_p99_us"] = lat[lat.size() * 99 / 100];

  cpu0 = process_cpu_us();
  std::this_thread::sleep_for(idle_window);
  state.counters["idle_cpu_pct"] =
      pct(process_cpu_us() - cpu0,
          std::chrono::duration_cast<std::chrono::microseconds>(idle_window));
}

void facade_get(benchmark::State& state) {
  runtime_options opts;
  opts.threads = static_cast<unsigned>(state.range(0));
  opts.poll_attempts = static_cast<std::size_t>(state.range(1));
  std::optional<cache_store> s;
  try {
    auto& rt = runtime_holder::get(opts);
    s = rt.open_cache("memory://?namespace=sched");
    s->set("key", std::string(100, 'v')).get();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  timed_loop(state, [&](std::uint64_t) {
    benchmark::DoNotOptimize(s->get("key").get());
  });
  sparse_phase(state, [&](std::vector<double>& lat) {
    auto t0 = clock_type::now();
    s->get("key").get();
    lat.push_back(micros_since(t0));
  });
}

void actor_get(benchmark::State& state, const char* backend) {
  std::optional<cache_store> s;
  auto& rt = runtime_holder::get();
  try {
    s = std::string(backend) == "redis"
            ? rt.open_cache(with_param(test::redis_uri(), "namespace=sched"))
            : rt.open_cache("sqlite://" + scratch_dir() + "/sched.db");
    s->set("key", std::string(100, 'v')).get();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  auto send = [](caf::event_based_actor* self, const cache_store_actor& h,
                 std::uint64_t) {
    return self->request(h, request_timeout, cget_atom::value,
                         std::string("key"));
  };
  constexpr int batch = 100;
  actor_loop<maybe_value>(state, rt.system(), s->actor(), send, batch);
  round_trips<maybe_value, cache_store_actor, decltype(send)> once(s->actor(),
                                                                   send);
  sparse_phase(state, [&](std::vector<double>& lat) {
    once.run(rt.system(), 0, 1, lat);
  });
}

[[maybe_unused]] const int registered = [] {
  auto* b = benchmark::RegisterBenchmark("sched/facade_get", facade_get);
  b->ArgNames({"threads", "poll"})->UseRealTime()->Iterations(20000);
  for (long threads : {1, 2, 4})
    for (long poll : {0, 1000, 10000, 100000}) b->Args({threads, poll});
  for (const char* backend : {"sqlite", "redis"})
    benchmark::RegisterBenchmark(
        (std::string("sched/actor_get/") + backend).c_str(),
        [backend](benchmark::State& st) { actor_get(st, backend); })
        ->UseRealTime()
        ->MinTime(0.5);
  return 0;
}();

}  // namespace

}  // namespace storage::bench
