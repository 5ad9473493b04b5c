// Offline migration throughput: migrate_collection / migrate_cache through
// the runtime (actor handles) versus the target's own fastest direct bulk
// load of the same records on one adapter connection:
//   faiss -> pgvector  20,000 × 128-d (pgvector: the table created without
//                      its HNSW index, upserts of 1000 (COPY), then the
//                      index built; index_s counts the build alone)
//   pgvector -> chroma  5,000 × 128-d (chroma upsert, batches of 1000)
//   sqlite -> redis    50,000 keys, 100-byte values, half with a ttl
//                      (redis mset, batches of 1000: one MULTI/EXEC each)
// One iteration each; the target is dropped or cleared before the run,
// outside the timed region. The direct rows are registered first; the
// pipeline rows report ratio = pipeline records/s ÷ direct records/s.
#include <map>
#include <string>
#include <vector>

#include "actors/migration/migration.hpp"
#include "adapters/factories.hpp"
#include "bench/bench_util.hpp"
#include "bench/vector_data.hpp"
#include "messages/store_uri.hpp"
#include "tests/support/servers.hpp"

namespace storage::bench {
namespace {

constexpr std::uint32_t mig_dim = 128;
constexpr std::size_t load_batch = 1000;

std::string faiss_src_uri() {
  return "faiss://" + scratch_dir() + "/mig-src";
}
std::string pg_uri() {
  return with_param(test::pgvector_uri(), "timeout_ms=300000");
}
std::string chroma_uri() {
  return with_param(test::chroma_uri(), "timeout_ms=300000");
}
std::string sqlite_src_uri() {
  return "sqlite://" + scratch_dir() + "/mig.db?namespace=mig";
}
std::string redis_uri(const std::string& ns) {
  return with_param(test::redis_uri(), "namespace=" + ns);
}

std::vector<vector_record> records(std::size_t from, std::size_t n) {
  std::vector<vector_record> out;
  for (std::size_t i = from; i < from + n; ++i) {
    auto r = make_record("m" + std::to_string(i), mig_dim, 5000011 + i,
                         static_cast<std::int64_t>(i) % buckets);
    r.metadata["tag"] = std::string("t") + std::to_string(i % 97);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<cache_entry> entries(std::size_t from, std::size_t n) {
  std::vector<cache_entry> out;
  for (std::size_t i = from; i < from + n; ++i) {
    cache_entry e;
    e.key = "k" + std::to_string(i);
    e.value = std::string(100, static_cast<char>('a' + i % 26));
    if (i % 2 == 0) e.ttl = 3600 * 1000;
    out.push_back(std::move(e));
  }
  return out;
}

// records/s of the direct rows, by pair name, for the pipeline rows' ratio.
std::map<std::string, double>& direct_rates() {
  static std::map<std::string, double> m;
  return m;
}

void report(benchmark::State& state, const std::string& pair, bool direct,
            std::uint64_t n, double seconds, double index_seconds = 0) {
  auto rate = static_cast<double>(n) / seconds;
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  state.counters["records"] = static_cast<double>(n);
  state.counters["records_per_s"] = rate;
  if (index_seconds > 0) state.counters["index_s"] = index_seconds;
  if (direct) {
    direct_rates()[pair] = rate;
  } else if (auto it = direct_rates().find(pair); it != direct_rates().end()) {
    state.counters["ratio"] = rate / it->second;
  }
}

struct vector_pair {
  std::string name;  // "faiss_pgvector"
  std::string collection;
  std::size_t n;
  std::string (*source)();
  std::string (*target)();
  std::unique_ptr<vector_backend> (*make_target)(const store_uri&,
                                                 std::uint32_t, std::uint32_t,
                                                 open_deadline);
};

const vector_pair& faiss_pg() {
  static const vector_pair p{
      "faiss_pgvector", "mig_faiss_pg", 20000,
      faiss_src_uri,    pg_uri,         make_pgvector_store};
  return p;
}
const vector_pair& pg_chroma() {
  static const vector_pair p{"pgvector_chroma", "mig_pg_chroma",  5000, pg_uri,
                             chroma_uri,        make_chroma_store};
  return p;
}

// Fills the source collection through the runtime once (kept on a server
// when it is complete already).
vector_store prepare_source(const vector_pair& p) {
  auto& rt = runtime_holder::get();
  auto src = rt.open_vector(p.source());
  once_per_process("mig " + p.name, [&] {
    std::uint64_t have = 0;
    try {
      have = src.count(p.collection).get();
    } catch (const std::exception&) {
    }
    if (have == p.n) return;
    src.drop_collection(p.collection).get();
    src.create_collection({p.collection, mig_dim, metric::cosine}).get();
    for (std::size_t i = 0; i < p.n; i += load_batch)
      src.upsert(p.collection, records(i, std::min(load_batch, p.n - i))).get();
  });
  return src;
}

void vector_migrate(benchmark::State& state, const vector_pair* p,
                    bool verify) {
  std::uint64_t copied = 0;
  double seconds = 0, index_seconds = 0;
  try {
    auto src = prepare_source(*p);
    auto& rt = runtime_holder::get();
    auto dst = rt.open_vector(p->target());
    dst.drop_collection(p->collection).get();
    migration_options opts;
    opts.verify = verify;
    for (auto _ : state) {
      auto t0 = clock_type::now();
      auto res = migrate_collection(rt.system(), src.actor(), dst.actor(),
                                    p->collection, opts);
      seconds = micros_since(t0) / 1e6;
      copied = res.copied;
      index_seconds = res.index_seconds;
      if (verify && !res.verified) throw std::runtime_error("not verified");
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  report(state, p->name, false, copied, seconds, index_seconds);
}

// The target's fastest load: created without its approximate index (where
// the adapter defers it), loaded, then indexed by a create without the flag.
void vector_direct(benchmark::State& state, const vector_pair* p) {
  std::uint64_t written = 0;
  double seconds = 0, index_seconds = 0;
  try {
    std::vector<std::vector<vector_record>> batches;
    for (std::size_t i = 0; i < p->n; i += load_batch)
      batches.push_back(records(i, std::min(load_batch, p->n - i)));
    auto b = p->make_target(store_uri::parse(p->target()), 0, 1, no_deadline);
    auto coll = p->collection + "_direct";
    b->drop_collection(coll);
    collection_spec spec{coll, mig_dim, metric::cosine};
    for (auto _ : state) {
      auto t0 = clock_type::now();
      spec.defer_index = true;
      b->create_collection(spec);
      for (const auto& batch : batches) written += b->upsert(coll, batch);
      auto t1 = clock_type::now();
      spec.defer_index = false;
      b->create_collection(spec);
      index_seconds = micros_since(t1) / 1e6;
      seconds = micros_since(t0) / 1e6;
    }
    b->drop_collection(coll);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  report(state, p->name, true, written, seconds, index_seconds);
}

constexpr std::size_t cache_keys = 50000;

cache_store prepare_cache_source() {
  auto& rt = runtime_holder::get();
  auto src = rt.open_cache(sqlite_src_uri());
  once_per_process("mig sqlite", [&] {
    src.clear().get();
    for (std::size_t i = 0; i < cache_keys; i += load_batch)
      src.mset(entries(i, load_batch)).get();
  });
  return src;
}

void cache_migrate(benchmark::State& state, bool verify) {
  std::uint64_t copied = 0;
  double seconds = 0;
  try {
    auto src = prepare_cache_source();
    auto& rt = runtime_holder::get();
    auto dst = rt.open_cache(redis_uri("mig_bench"));
    dst.clear().get();
    migration_options opts;
    opts.verify = verify;
    for (auto _ : state) {
      auto t0 = clock_type::now();
      auto res = migrate_cache(rt.system(), src.actor(), dst.actor(), opts);
      seconds = micros_since(t0) / 1e6;
      copied = res.copied;
      if (verify && !res.verified) throw std::runtime_error("not verified");
    }
    dst.clear().get();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  report(state, "sqlite_redis", false, copied, seconds);
}

void cache_direct(benchmark::State& state) {
  double seconds = 0;
  try {
    std::vector<std::vector<cache_entry>> batches;
    for (std::size_t i = 0; i < cache_keys; i += load_batch)
      batches.push_back(entries(i, load_batch));
    auto c = make_redis_cache(store_uri::parse(redis_uri("mig_direct")), 0, 1);
    c->clear();
    for (auto _ : state) {
      auto t0 = clock_type::now();
      for (const auto& batch : batches) c->mset(batch);
      seconds = micros_since(t0) / 1e6;
    }
    c->clear();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  report(state, "sqlite_redis", true, cache_keys, seconds);
}

void setup(benchmark::internal::Benchmark* b) {
  b->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
}

[[maybe_unused]] const bool registered = [] {
  for (const auto* p : {&faiss_pg(), &pg_chroma()}) {
    auto base = "migration/" + p->name;
    setup(benchmark::RegisterBenchmark((base + "/direct_bulk").c_str(),
                                       vector_direct, p));
    setup(benchmark::RegisterBenchmark((base + "/migrate_noverify").c_str(),
                                       vector_migrate, p, false));
    setup(benchmark::RegisterBenchmark((base + "/migrate_verify").c_str(),
                                       vector_migrate, p, true));
  }
  setup(benchmark::RegisterBenchmark("migration/sqlite_redis/direct_mset",
                                     cache_direct));
  setup(benchmark::RegisterBenchmark("migration/sqlite_redis/migrate_noverify",
                                     cache_migrate, false));
  setup(benchmark::RegisterBenchmark("migration/sqlite_redis/migrate_verify",
                                     cache_migrate, true));
  return true;
}();

}  // namespace
}  // namespace storage::bench
