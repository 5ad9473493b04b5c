// Vector upserts (batches of 100) and k=10 searches over 10,000 records, with
// and without a 10%-selective filter, on faiss:// (128-d, flat), pgvector
// and chroma (384-d): directly on the adapter, through the runtime's future
// facade, and from a CAF actor with request(...).then.
//
//   vector/<backend>/<upsert|search|search_filtered>/<path>/threads:N
//
// With N callers the direct path uses N adapters and the runtime opens the
// store with pool=N. faiss:// keeps its state in the process, so there the
// N direct adapters each hold the whole collection (each in a directory of
// its own: one store at a time per directory), while pool=N makes N
// shards that a search fans out to (ARCHITECTURE.md); direct upserts go to
// a directory per caller, as shards would. The rows
//
//   vector/faiss/<op>/<facade|actor>/shards:2/threads:16
//
// open the store with 2 shards instead (as many as this machine's cores),
// in a directory of its own.
#include <deque>
#include <map>
#include <mutex>

#include "adapters/factories.hpp"
#include "bench/bench_util.hpp"
#include "bench/vector_data.hpp"
#include "messages/store_uri.hpp"
#include "tests/support/servers.hpp"

namespace storage::bench {

namespace {

const std::string search_coll = "bench_search";
const std::string upsert_coll = "bench_upsert";

using vector_maker = std::unique_ptr<vector_backend> (*)(const store_uri&,
                                                         std::uint32_t,
                                                         std::uint32_t,
                                                         open_deadline);

struct vector_def {
  const char* name;
  std::uint32_t dim;
  storage::metric metric;
  std::string (*direct_uri)();
  std::string (*runtime_uri)();
  vector_maker make;
  bool in_process;
  std::vector<int> callers;
};

std::string faiss_direct_uri() {
  return "faiss://" + scratch_dir() + "/faiss-direct";
}
std::string faiss_runtime_uri() {
  return "faiss://" + scratch_dir() + "/faiss-runtime";
}

// 32 concurrent upserts queue up on the server for longer than the default
// deadlines; a long deadline measures them instead of failing them.
std::string pgvector_uri() {
  return with_param(test::pgvector_uri(), "timeout_ms=300000");
}
std::string chroma_uri() {
  return with_param(test::chroma_uri(), "timeout_ms=300000");
}

const std::vector<vector_def>& vector_defs() {
  static const std::vector<vector_def> defs{
      {"faiss",
       128,
       metric::l2,
       faiss_direct_uri,
       faiss_runtime_uri,
       make_faiss_store,
       true,
       {1, 16}},
      {"pgvector",
       384,
       metric::l2,
       pgvector_uri,
       pgvector_uri,
       make_pgvector_store,
       false,
       {1, 32}},
      {"chroma",
       384,
       metric::l2,
       chroma_uri,
       chroma_uri,
       make_chroma_store,
       false,
       {1, 32}},
  };
  return defs;
}

enum class op { upsert, search, search_filtered };

// Round trips per benchmark iteration on the actor path.
int actor_batch(const vector_def& d, op o) {
  if (d.in_process) return 10;
  return o == op::upsert ? 1 : 5;
}

search_request make_query(const vector_def& d, op o, std::uint64_t i) {
  search_request r;
  auto& qs = queries(d.dim);
  r.query = qs[i % qs.size()];
  r.k = 10;
  if (o == op::search_filtered) r.where = filter::eq("bucket", std::int64_t{3});
  return r;
}

template <class Count>
std::uint64_t count_or_zero(Count count) {
  try {
    return count();
  } catch (const store_error&) {
    return 0;  // no such collection yet
  }
}

// Both collections exist and the search collection is full; once per
// process and URI, through one adapter.
void prepare_direct(const vector_def& d, const std::string& uri,
                    bool search = true) {
  once_per_process("direct " + uri, [&] {
    auto b = d.make(store_uri::parse(uri), 0, 1, no_deadline);
    if (search)
      fill_search_collection(
          d.dim,
          [&] { return count_or_zero([&] { return b->count(search_coll); }); },
          [&] {
            b->drop_collection(search_coll);
            b->create_collection({search_coll, d.dim, d.metric});
          },
          [&](const std::vector<vector_record>& rs) {
            b->upsert(search_coll, rs);
          });
    b->create_collection({upsert_coll, d.dim, d.metric});
  });
}

// faiss:// adapters load the collection into memory on first use: keep
// them across the runs of one benchmark.
vector_backend& cached_adapter(const vector_def& d, const std::string& uri,
                               int thread) {
  static std::mutex mtx;
  static std::map<std::string, std::unique_ptr<vector_backend>> cache;
  std::unique_lock<std::mutex> g(mtx);
  auto& slot = cache[uri + "#" + std::to_string(thread)];
  if (!slot) {
    g.unlock();
    auto b = d.make(store_uri::parse(uri), 0, 1, no_deadline);
    g.lock();
    slot = std::move(b);
  }
  return *slot;
}

// Server upserts insert new records on every path and run: ids tagged with
// the path and the process (see upsert_batches). In-process stores replace
// their own records (many iterations, each path its own directory).
std::string upsert_tag(const vector_def& d, const char* path) {
  if (d.in_process) return "";
  static const auto run = std::to_string(
      std::chrono::system_clock::now().time_since_epoch().count());
  return std::string(path) + run + "-";
}

template <op O>
void direct(benchmark::State& state, const vector_def* d) {
  auto t = state.thread_index();
  std::unique_ptr<vector_backend> own;
  vector_backend* b = nullptr;
  std::vector<std::vector<vector_record>> batches;
  try {
    auto uri = d->direct_uri();
    // In-process stores: a directory per thread, since a directory has
    // one store at a time (faiss_dir_lock.hpp).
    if (d->in_process)
      uri += (O == op::upsert ? "-up" : "-s") + std::to_string(t);
    prepare_direct(*d, uri, O != op::upsert);
    if (d->in_process) {
      b = &cached_adapter(*d, uri, t);
    } else {
      own = d->make(store_uri::parse(uri), 0, 1, no_deadline);
      b = own.get();
    }
    if (O == op::upsert)
      batches = upsert_batches(d->dim, t, upsert_tag(*d, "d"));
    else
      b->search(search_coll, make_query(*d, op::search, 0));  // warm up
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  timed_loop(state, [&](std::uint64_t i) {
    if constexpr (O == op::upsert)
      b->upsert(upsert_coll, batches[i % batches.size()]);
    else
      benchmark::DoNotOptimize(b->search(search_coll, make_query(*d, O, i)));
  });
}

// A runtime path's store: `pool` workers (shards on faiss://), 0 for one
// per caller.
struct runtime_case {
  const vector_def* def;
  int pool;
};

vector_store open_runtime_store(benchmark::State& state,
                                const runtime_case& c) {
  auto& d = *c.def;
  auto uri =
      c.pool > 0
          ? with_param(d.runtime_uri() + "-shards" + std::to_string(c.pool),
                       "pool=" + std::to_string(c.pool))
          : with_param(d.runtime_uri(),
                       "pool=" + std::to_string(state.threads()));
  if (!d.in_process) prepare_direct(d, d.direct_uri());
  auto& rt = runtime_holder::get();
  auto s = rt.open_vector(uri);
  once_per_process("runtime " + uri, [&] {
    fill_search_collection(
        d.dim,
        [&] {
          return count_or_zero([&] { return s.count(search_coll).get(); });
        },
        [&] {
          s.drop_collection(search_coll).get();
          s.create_collection({search_coll, d.dim, d.metric}).get();
        },
        [&](std::vector<vector_record> rs) {
          s.upsert(search_coll, std::move(rs)).get();
        });
    s.create_collection({upsert_coll, d.dim, d.metric}).get();
  });
  s.search(search_coll, make_query(d, op::search, 0)).get();  // warm up
  return s;
}

template <op O>
void facade(benchmark::State& state, const runtime_case* c) {
  auto d = c->def;
  std::optional<vector_store> s;
  std::vector<std::vector<vector_record>> batches;
  try {
    s = open_runtime_store(state, *c);
    if (O == op::upsert)
      batches =
          upsert_batches(d->dim, state.thread_index(), upsert_tag(*d, "f"));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  // The facade takes the batch by value: the copy is part of its cost, as
  // for a caller that keeps its records.
  timed_loop(state, [&](std::uint64_t i) {
    if constexpr (O == op::upsert)
      s->upsert(upsert_coll, batches[i % batches.size()]).get();
    else
      benchmark::DoNotOptimize(
          s->search(search_coll, make_query(*d, O, i)).get());
  });
}

template <op O>
void actor(benchmark::State& state, const runtime_case* c) {
  auto d = c->def;
  std::optional<vector_store> s;
  std::vector<std::vector<vector_record>> batches;
  try {
    s = open_runtime_store(state, *c);
    if (O == op::upsert)
      batches =
          upsert_batches(d->dim, state.thread_index(), upsert_tag(*d, "a"));
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  auto send = [d, &batches](caf::event_based_actor* self,
                            const vector_store_actor& h, std::uint64_t i) {
    if constexpr (O == op::upsert)
      return self->request(h, request_timeout, vupsert_atom::value, upsert_coll,
                           batches[i % batches.size()]);
    else
      return self->request(h, request_timeout, vsearch_atom::value, search_coll,
                           make_query(*d, O, i));
  };
  using reply = std::conditional_t<O == op::upsert, std::uint64_t,
                                   std::vector<search_hit>>;
  actor_loop<reply>(state, runtime_holder::get().system(), s->actor(), send,
                    actor_batch(*d, O));
}

template <class Arg>
using bench_fn = void (*)(benchmark::State&, const Arg*);

[[maybe_unused]] const int registered = [] {
  struct variant {
    const char* op;
    bench_fn<vector_def> direct;
    bench_fn<runtime_case> facade, actor;
  };
  const variant variants[] = {
      {"upsert", direct<op::upsert>, facade<op::upsert>, actor<op::upsert>},
      {"search", direct<op::search>, facade<op::search>, actor<op::search>},
      {"search_filtered", direct<op::search_filtered>,
       facade<op::search_filtered>, actor<op::search_filtered>},
  };
  // Registered benchmarks keep a pointer to their case for the process.
  static std::deque<runtime_case> cases;
  auto timing = [](benchmark::internal::Benchmark* b, const vector_def& d,
                   const variant& v, int n) {
    b->Threads(n)->UseRealTime();
    // A server upsert of 100 x 384-d takes 0.2-1 s and the servers
    // serialize them: a few per caller are enough.
    if (d.in_process)
      b->MinTime(0.5);
    else if (std::string(v.op) == "upsert")
      b->Iterations(n == 1 ? 5 : 1);
    else
      b->MinTime(1.0);
  };
  for (auto& d : vector_defs())
    for (auto& v : variants)
      for (int n : d.callers) {
        auto base = std::string("vector/") + d.name + "/" + v.op + "/";
        timing(benchmark::RegisterBenchmark((base + "direct").c_str(), v.direct,
                                            &d),
               d, v, n);
        cases.push_back({&d, 0});
        for (auto [path, fn] :
             {std::pair{"facade", v.facade}, std::pair{"actor", v.actor}})
          timing(benchmark::RegisterBenchmark((base + path).c_str(), fn,
                                              &cases.back()),
                 d, v, n);
        if (d.in_process && n > 2) {
          cases.push_back({&d, 2});
          for (auto [path, fn] :
               {std::pair{"facade", v.facade}, std::pair{"actor", v.actor}})
            timing(benchmark::RegisterBenchmark(
                       (base + path + "/shards:2").c_str(), fn, &cases.back()),
                   d, v, n);
        }
      }
  return 0;
}();

}  // namespace

}  // namespace storage::bench
