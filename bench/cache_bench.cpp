// Cache get/set of 100-byte values on memory://, sqlite:// and redis://:
// directly on the adapter (one connection per caller), through the runtime's
// future facade, and from a CAF actor with request(...).then.
//
//   cache/<backend>/<get|set>/<direct|facade|actor>/threads:N
//   cache/redis/<get|set>/<facade|actor>/pool:1/threads:32
//
// With N callers the direct path uses N adapters (N connections, or N
// independent in-process caches for memory://) and the runtime paths open
// the store with pool=N. The pool:1 runs put 32 callers on one Redis
// connection, where the requests waiting for it go out as one pipeline.
#include <deque>
#include <mutex>

#include "adapters/factories.hpp"
#include "bench/bench_util.hpp"
#include "messages/store_uri.hpp"
#include "tests/support/servers.hpp"

namespace storage::bench {

namespace {

constexpr std::size_t keyspace = 10000;
constexpr unsigned sample_every = 8;  // latency sample rate (clock cost)
constexpr int actor_batch = 100;

using cache_maker = std::unique_ptr<cache_backend> (*)(const store_uri&,
                                                       std::uint32_t,
                                                       std::uint32_t,
                                                       open_deadline);

struct cache_def {
  const char* name;
  std::string (*uri)();
  cache_maker make;
  bool in_process;
  std::vector<int> callers;
  std::vector<int> pipelined_callers;  // also run with pool=1
};

// A runtime path's store: `pool` connections, 0 for one per caller.
struct runtime_case {
  const cache_def* def;
  int pool;
};

std::string memory_uri() {
  return "memory://?max_entries=100000&namespace=bench";
}
std::string sqlite_uri() {
  return "sqlite://" + scratch_dir() + "/cache.db?namespace=bench";
}
std::string redis_uri() {
  return with_param(test::redis_uri(), "namespace=bench");
}

const std::vector<cache_def>& cache_defs() {
  static const std::vector<cache_def> defs{
      {"memory", memory_uri, make_memory_cache, true, {1, 16}, {}},
      {"sqlite", sqlite_uri, make_sqlite_cache, false, {1, 16}, {}},
      {"redis", redis_uri, make_redis_cache, false, {1, 16, 32}, {32}},
  };
  return defs;
}

const std::vector<std::string>& keys() {
  static const std::vector<std::string> ks = [] {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < keyspace; ++i)
      out.push_back("key:" + std::to_string(i));
    return out;
  }();
  return ks;
}

const std::string& value100() {
  static const std::string v(100, 'v');
  return v;
}

// A different key for each call and caller, spread over the key space.
const std::string& key_for(std::uint64_t i, int thread) {
  return keys()[(i * 7919 + static_cast<std::uint64_t>(thread) * 104729) %
                keyspace];
}

std::vector<cache_entry> prefill_batch(std::size_t from, std::size_t n) {
  std::vector<cache_entry> out;
  for (std::size_t i = from; i < from + n && i < keyspace; ++i)
    out.push_back({keys()[i], value100(), {}});
  return out;
}

void prefill(cache_backend& c) {
  for (std::size_t i = 0; i < keyspace; i += 1000)
    c.mset(prefill_batch(i, 1000));
}

// A server or file cache is filled once per process, through the adapter.
void prefill_shared(const cache_def& d) {
  static std::mutex mtx;
  static std::vector<std::string> done;
  std::lock_guard<std::mutex> g(mtx);
  if (std::find(done.begin(), done.end(), d.name) != done.end()) return;
  auto c = d.make(store_uri::parse(d.uri()), 0, 1, no_deadline);
  c->clear();
  prefill(*c);
  done.push_back(d.name);
}

template <bool Set>
void direct(benchmark::State& state, const cache_def* d) {
  std::unique_ptr<cache_backend> c;
  try {
    if (!d->in_process) prefill_shared(*d);
    c = d->make(store_uri::parse(d->uri()), 0, 1, no_deadline);
    if (d->in_process) prefill(*c);
    c->get(keys()[0]);  // connect outside the timed loop
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  auto t = state.thread_index();
  timed_loop(
      state,
      [&](std::uint64_t i) {
        if constexpr (Set)
          c->set(key_for(i, t), value100(), {});
        else
          benchmark::DoNotOptimize(c->get(key_for(i, t)));
      },
      sample_every);
}

cache_store open_runtime_store(benchmark::State& state, const runtime_case& c) {
  auto& d = *c.def;
  if (!d.in_process) prefill_shared(d);
  auto& rt = runtime_holder::get();
  auto pool = c.pool > 0 ? c.pool : state.threads();
  auto store =
      rt.open_cache(with_param(d.uri(), "pool=" + std::to_string(pool)));
  if (d.in_process && state.thread_index() == 0)
    for (std::size_t i = 0; i < keyspace; i += 1000)
      store.mset(prefill_batch(i, 1000)).get();
  store.get(keys()[0]).get();
  return store;
}

template <bool Set>
void facade(benchmark::State& state, const runtime_case* c) {
  std::optional<cache_store> s;
  try {
    s = open_runtime_store(state, *c);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  auto t = state.thread_index();
  timed_loop(
      state,
      [&](std::uint64_t i) {
        if constexpr (Set)
          s->set(key_for(i, t), value100()).get();
        else
          benchmark::DoNotOptimize(s->get(key_for(i, t)).get());
      },
      sample_every);
}

template <bool Set>
void actor(benchmark::State& state, const runtime_case* c) {
  std::optional<cache_store> s;
  try {
    s = open_runtime_store(state, *c);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  auto t = state.thread_index();
  auto send = [t](caf::event_based_actor* self, const cache_store_actor& h,
                  std::uint64_t i) {
    if constexpr (Set)
      return self->request(h, request_timeout, cset_atom::value,
                           cache_entry{key_for(i, t), value100(), {}});
    else
      return self->request(h, request_timeout, cget_atom::value, key_for(i, t));
  };
  using reply = std::conditional_t<Set, bool, maybe_value>;
  actor_loop<reply>(state, runtime_holder::get().system(), s->actor(), send,
                    actor_batch);
}

template <class Arg>
using bench_fn = void (*)(benchmark::State&, const Arg*);

void add(const std::string& name, bench_fn<cache_def> fn, const cache_def* d,
         int n) {
  benchmark::RegisterBenchmark(name.c_str(), fn, d)
      ->Threads(n)
      ->UseRealTime()
      ->MinTime(0.5);
}

void add(const std::string& name, bench_fn<runtime_case> fn, int pool,
         const cache_def* d, int n) {
  // Registered benchmarks keep a pointer to their case for the process.
  static std::deque<runtime_case> cases;
  cases.push_back({d, pool});
  benchmark::RegisterBenchmark(name.c_str(), fn, &cases.back())
      ->Threads(n)
      ->UseRealTime()
      ->MinTime(0.5);
}

int register_all() {
  for (auto& d : cache_defs())
    for (bool set : {false, true}) {
      auto base = std::string("cache/") + d.name + (set ? "/set/" : "/get/");
      for (int n : d.callers) {
        add(base + "direct", set ? direct<true> : direct<false>, &d, n);
        add(base + "facade", set ? facade<true> : facade<false>, 0, &d, n);
        add(base + "actor", set ? actor<true> : actor<false>, 0, &d, n);
      }
      for (int n : d.pipelined_callers) {
        add(base + "facade/pool:1", set ? facade<true> : facade<false>, 1, &d,
            n);
        add(base + "actor/pool:1", set ? actor<true> : actor<false>, 1, &d, n);
      }
    }
  return 0;
}

const int registered = register_all();

}  // namespace

}  // namespace storage::bench
