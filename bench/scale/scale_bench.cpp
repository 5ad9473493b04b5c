// faiss:// at 100k and 1M records (issue 12): bulk load, open + first search
// in a new process with its peak RSS, hnsw latency and recall@10 per
// ef_search, and batched flat search. Stores are kept under
// $FAISS_SCALE_DIR (default /var/tmp/faiss_scale) between runs; the build
// benchmarks (re)create them, the others need them built. See BENCHMARKS.md.
//
//   faiss_scale/build/<flat|hnsw>/<uniform|clustered>/<n>
//   faiss_scale/reopen/<flat|hnsw>/<uniform|clustered>/<n>
//   faiss_scale/rebuild/<flat|hnsw>/<uniform|clustered>/<n>  (no snapshot)
//   faiss_scale/hnsw_updates/clustered/<n>
//   faiss_scale/hnsw_search/<uniform|clustered>/<n>/<ef_search>
//   faiss_scale/flat_search/<uniform|clustered>/<n>/<queries per request>
#include <benchmark/benchmark.h>
#include <faiss/IndexFlat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>

#include "adapters/factories.hpp"
#include "adapters/faiss/faiss_store.hpp"
#include "bench/scale/scale_data.hpp"

namespace storage::bench::scale {
namespace {

using clock_type = std::chrono::steady_clock;
constexpr std::size_t query_count = 200;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::uint64_t dir_bytes(const std::string& dir) {
  std::uint64_t total = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

void build(benchmark::State& state, dataset d, bool hnsw) {
  auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    std::filesystem::remove_all(store_dir(d, hnsw, n));
    auto t0 = clock_type::now();
    auto store =
        make_faiss_store(store_uri::parse(store_uri_of(d, hnsw, n)), 0, 1);
    store->create_collection({"scale", dim, metric::l2});
    constexpr std::size_t batch = 10000;
    for (std::size_t from = 0; from < n; from += batch) {
      std::vector<vector_record> records;
      for (std::size_t i = from; i < std::min(n, from + batch); ++i)
        records.push_back(record_of(d, i));
      store->upsert("scale", records);
    }
    double load = seconds_since(t0);
    auto t1 = clock_type::now();
    store.reset();  // writes the snapshot
    double close = seconds_since(t1);
    state.SetIterationTime(load + close);
    state.counters["records_per_s"] = static_cast<double>(n) / load;
    state.counters["close_s"] = close;
    state.counters["disk_MB"] =
        static_cast<double>(dir_bytes(store_dir(d, hnsw, n))) / 1e6;
  }
}

// Runs the probe in a new process; returns its seconds and peak RSS bytes.
std::pair<double, double> probe(const std::string& uri, dataset d) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    auto ds = std::to_string(static_cast<int>(d));
    execl(FAISS_SCALE_PROBE, FAISS_SCALE_PROBE, uri.c_str(), ds.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  char buf[128] = {};
  auto got = read(fds[0], buf, sizeof buf - 1);
  close(fds[0]);
  int status = 0;
  rusage use{};
  wait4(pid, &status, 0, &use);
  if (got <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("probe failed on " + uri);
  return {std::stod(buf), static_cast<double>(use.ru_maxrss) * 1024.0};
}

void reopen(benchmark::State& state, dataset d, bool hnsw) {
  auto n = static_cast<std::size_t>(state.range(0));
  double peak = 0;
  for (auto _ : state) {
    auto [s, rss] = probe(store_uri_of(d, hnsw, n), d);
    state.SetIterationTime(s);
    peak = std::max(peak, rss);
  }
  double raw = static_cast<double>(n) * dim * sizeof(float);
  state.counters["peak_rss_MB"] = peak / 1e6;
  state.counters["rss_per_raw"] = peak / raw;
}

// Open + first search without a snapshot: the index is rebuilt from SQLite
// (a first open after an upgrade, or after a corrupt snapshot). The probe
// exits without closing, so nothing is saved between iterations.
void rebuild(benchmark::State& state, dataset d, bool hnsw) {
  auto n = static_cast<std::size_t>(state.range(0));
  auto snapshots = store_dir(d, hnsw, n) + "/snapshots";
  auto aside = snapshots + ".aside";
  if (rename(snapshots.c_str(), aside.c_str()) != 0)
    throw std::runtime_error("no snapshots in " + snapshots);
  for (auto _ : state) {
    auto [s, rss] = probe(store_uri_of(d, hnsw, n), d);
    state.SetIterationTime(s);
    state.counters["records_per_s"] = static_cast<double>(n) / s;
  }
  std::filesystem::remove_all(snapshots);
  rename(aside.c_str(), snapshots.c_str());
}

// Updates every record of a fresh hnsw collection of n (clustered) once,
// in batches of 100, and a tenth again: past the point where half the
// graph's slots are dead and it must be rebuilt. Reports the batches' p50
// and the slowest, which is where a rebuild on the write path shows, and
// how long the rebuild took under those writes (rebuild_s).
void hnsw_updates(benchmark::State& state) {
  auto n = static_cast<std::size_t>(state.range(0));
  auto dir = store_dir(dataset::clustered, true, n) + "-updates";
  std::vector<double> took;
  double rebuilt_s = 0;
  for (auto _ : state) {
    std::filesystem::remove_all(dir);
    auto store = std::make_unique<faiss_store>(
        store_uri::parse("faiss://" + dir + "?index=hnsw"), 0, 1);
    auto half_dead = clock_type::now();
    rebuilt_s = 0;
    auto note_rebuilt = [&] {
      if (rebuilt_s == 0 && store->last_load("scale")->graph_rebuilds > 0)
        rebuilt_s = seconds_since(half_dead);
    };
    store->create_collection({"scale", dim, metric::l2});
    std::vector<vector_record> records;
    for (std::size_t i = 0; i < n; ++i)
      records.push_back(record_of(dataset::clustered, i));
    store->upsert("scale", records);
    for (std::size_t from = 0; from < n + n / 10; from += 100) {
      records.clear();
      for (std::size_t i = from; i < from + 100; ++i) {
        auto r = record_of(dataset::clustered, n + i);
        r.id = record_of(dataset::clustered, i % n).id;
        records.push_back(std::move(r));
      }
      auto t0 = clock_type::now();
      store->upsert("scale", records);
      took.push_back(seconds_since(t0));
      if (from + 100 == n) half_dead = clock_type::now();
      if (from + 100 >= n) note_rebuilt();
    }
    state.SetIterationTime(std::accumulate(took.begin(), took.end(), 0.0));
    // Writes go on, untimed, until the new graph is in: how long the
    // background rebuild took under steady writes, from the batch that
    // made half the slots dead (the n-th update).
    while (rebuilt_s == 0 && seconds_since(half_dead) < 600) {
      records.clear();
      for (std::size_t i = 0; i < 100; ++i)
        records.push_back(record_of(dataset::clustered, 2 * n + i));
      store->upsert("scale", records);
      note_rebuilt();
    }
    if (rebuilt_s == 0) rebuilt_s = seconds_since(half_dead);  // gave up
  }
  std::sort(took.begin(), took.end());
  state.counters["batch_p50_ms"] = took[took.size() / 2] * 1e3;
  state.counters["batch_max_ms"] = took.back() * 1e3;
  state.counters["rebuild_s"] = rebuilt_s;
  std::filesystem::remove_all(dir);
}

// The exact 10 nearest records of each query, from FAISS's flat index over
// the regenerated data (kept per dataset and size).
const std::vector<std::set<std::string>>& truth(dataset d, std::size_t n) {
  static std::map<std::pair<int, std::size_t>,
                  std::vector<std::set<std::string>>>
      cache;
  auto& out = cache[{static_cast<int>(d), n}];
  if (!out.empty()) return out;
  faiss::IndexFlatL2 flat(dim);
  std::vector<float> rows;
  constexpr std::size_t chunk = 100000;
  for (std::size_t from = 0; from < n; from += chunk) {
    rows.clear();
    for (std::size_t i = from; i < std::min(n, from + chunk); ++i) {
      auto v = vector_of(d, i);
      rows.insert(rows.end(), v.begin(), v.end());
    }
    flat.add(static_cast<faiss::Index::idx_t>(rows.size() / dim), rows.data());
  }
  std::vector<float> q;
  for (std::size_t i = 0; i < query_count; ++i) {
    auto v = query_of(d, i);
    q.insert(q.end(), v.begin(), v.end());
  }
  std::vector<float> dist(query_count * 10);
  std::vector<faiss::Index::idx_t> labels(query_count * 10);
  flat.search(query_count, q.data(), 10, dist.data(), labels.data());
  for (std::size_t i = 0; i < query_count; ++i) {
    std::set<std::string> ids;
    for (std::size_t j = 0; j < 10; ++j)
      ids.insert("r" + std::to_string(labels[i * 10 + j]));
    out.push_back(std::move(ids));
  }
  return out;
}

void hnsw_search(benchmark::State& state, dataset d) {
  auto n = static_cast<std::size_t>(state.range(0));
  auto ef = state.range(1);
  auto& want = truth(d, n);
  auto store =
      make_faiss_store(store_uri::parse(store_uri_of(
                           d, true, n, "&ef_search=" + std::to_string(ef))),
                       0, 1);
  std::vector<double> ms;
  std::size_t found = 0, asked = 0, i = 0;
  search_request req;
  req.k = 10;
  req.include.document = false;
  req.query = query_of(d, 0);
  store->search("scale", req);  // loads the collection
  for (auto _ : state) {
    auto q = i++ % query_count;
    req.query = query_of(d, q);
    auto t0 = clock_type::now();
    auto hits = store->search("scale", req);
    auto s = seconds_since(t0);
    state.SetIterationTime(s);
    ms.push_back(s * 1e3);
    for (auto& h : hits) found += want[q].count(h.id);
    asked += 10;
  }
  std::sort(ms.begin(), ms.end());
  state.counters["p50_ms"] = ms[ms.size() / 2];
  state.counters["p99_ms"] = ms[ms.size() * 99 / 100];
  state.counters["recall_at_10"] =
      static_cast<double>(found) / static_cast<double>(asked);
}

void flat_search(benchmark::State& state, dataset d) {
  auto n = static_cast<std::size_t>(state.range(0));
  auto per_request = static_cast<std::size_t>(state.range(1));
  auto store =
      make_faiss_store(store_uri::parse(store_uri_of(d, false, n)), 0, 1);
  batch_search_request req;
  req.k = 10;
  req.include.document = false;
  req.queries = {query_of(d, 0)};
  store->search_batch("scale", req);  // loads the collection
  std::size_t next = 0;
  for (auto _ : state) {
    req.queries.clear();
    for (std::size_t j = 0; j < per_request; ++j)
      req.queries.push_back(query_of(d, next++ % query_count));
    auto t0 = clock_type::now();
    auto hits = store->search_batch("scale", req);
    state.SetIterationTime(seconds_since(t0));
    benchmark::DoNotOptimize(hits);
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(per_request));
}

[[maybe_unused]] const int registered = [] {
  for (auto d : {dataset::uniform, dataset::clustered}) {
    for (bool hnsw : {false, true}) {
      std::string kind = hnsw ? "hnsw/" : "flat/";
      benchmark::RegisterBenchmark(
          ("faiss_scale/build/" + kind + name(d)).c_str(),
          [d, hnsw](benchmark::State& s) { build(s, d, hnsw); })
          ->Arg(100000)
          ->Arg(1000000)
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kSecond);
      benchmark::RegisterBenchmark(
          ("faiss_scale/rebuild/" + kind + name(d)).c_str(),
          [d, hnsw](benchmark::State& s) { rebuild(s, d, hnsw); })
          ->Arg(100000)
          ->Arg(1000000)
          ->Iterations(2)
          ->UseManualTime()
          ->Unit(benchmark::kSecond);
      benchmark::RegisterBenchmark(
          ("faiss_scale/reopen/" + kind + name(d)).c_str(),
          [d, hnsw](benchmark::State& s) { reopen(s, d, hnsw); })
          ->Arg(100000)
          ->Arg(1000000)
          ->Iterations(3)
          ->UseManualTime()
          ->Unit(benchmark::kSecond);
    }
    if (d == dataset::clustered)
      benchmark::RegisterBenchmark("faiss_scale/hnsw_updates/clustered",
                                   hnsw_updates)
          ->Arg(20000)
          ->Arg(100000)
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kSecond);
    benchmark::RegisterBenchmark(
        (std::string("faiss_scale/hnsw_search/") + name(d)).c_str(),
        [d](benchmark::State& s) { hnsw_search(s, d); })
        ->ArgsProduct({{100000, 1000000}, {16, 32, 64, 128, 256, 512, 1024}})
        ->Iterations(400)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(
        (std::string("faiss_scale/flat_search/") + name(d)).c_str(),
        [d](benchmark::State& s) { flat_search(s, d); })
        ->ArgsProduct({{100000, 1000000}, {1, 64}})
        ->MinTime(3.0)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  return 0;
}();

}  // namespace
}  // namespace storage::bench::scale

BENCHMARK_MAIN();
