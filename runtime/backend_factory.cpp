#include "runtime/backend_factory.hpp"

#include <strings.h>

#include "adapters/factories.hpp"
#include "messages/errors.hpp"
#include "messages/store_uri.hpp"

namespace storage {

namespace {

template <class Backend>
using maker = std::unique_ptr<Backend> (*)(const store_uri&, std::uint32_t,
                                           std::uint32_t, open_deadline);

struct scheme_entry {
  const char* scheme;
  store_kind kind;
  // Each worker holds its own part of the data (in-process shards).
  bool in_process;
  bool takes_password;
  // Who may run a request to an idle worker on its own thread: memory://
  // answers from process memory and never waits on I/O; a Redis or SQLite
  // call takes microseconds, less than the two hand-offs to a worker thread
  // and back; a faiss:// call on a collection of 10,000 records takes
  // 0.3-1 ms, of which the two hand-offs were 15-40% here (BENCHMARKS.md),
  // so a facade thread runs it too (not an actor: a load can hold a call
  // until its deadline); pgvector and Chroma calls take milliseconds on a
  // socket, where the saving is noise. SQLite's point reads and a
  // faiss:// search of a collection in memory run on an actor's thread too:
  // they wait for no lock.
  inline_policy callers_run;
  maker<vector_backend> vector;
  maker<cache_backend> cache;
  // The adapter's own parameters, checked when the store is opened.
  void (*check)(const store_uri&);
};

constexpr auto never = inline_policy::never;
constexpr auto waiting_callers = inline_policy::waiting_callers;
constexpr auto waiting_callers_and_reads =
    inline_policy::waiting_callers_and_ready_reads;
constexpr auto any_caller = inline_policy::any_caller;

const scheme_entry schemes[] = {
    {"faiss", store_kind::vector, true, false, waiting_callers_and_reads,
     make_faiss_store, nullptr, check_faiss_uri},
    {"pgvector", store_kind::vector, false, true, never, make_pgvector_store,
     nullptr, check_pgvector_uri},
    {"chroma", store_kind::vector, false, false, never, make_chroma_store,
     nullptr, check_chroma_uri},
    {"memory", store_kind::cache, true, false, any_caller, nullptr,
     make_memory_cache, check_memory_uri},
    {"sqlite", store_kind::cache, false, false, waiting_callers_and_reads,
     nullptr, make_sqlite_cache, check_sqlite_uri},
    {"redis", store_kind::cache, false, true, waiting_callers, nullptr,
     make_redis_cache, check_redis_uri},
};

const scheme_entry& entry_for(const store_uri& u) {
  for (auto& e : schemes)
    if (u.scheme() == e.scheme) return e;
  if (u.scheme() == "caf")
    throw store_error(errc::unsupported,
                      "a caf:// store (served by another node) cannot "
                      "be the target of a swap or a live migration: run "
                      "those on the node that serves it",
                      "open", u.redacted());
  throw store_error(errc::invalid_argument,
                    "unknown scheme '" + u.scheme() +
                        "' (faiss, pgvector, chroma, memory, sqlite, redis)",
                    "open", u.redacted());
}

template <class Backend>
pool_spec<Backend> pool_for(const std::string& text, store_kind want) {
  auto u = store_uri::parse(text);
  auto& e = entry_for(u);
  if (e.kind != want)
    throw store_error(
        errc::invalid_argument,
        std::string(e.scheme) + ":// is a " +
            (e.kind == store_kind::vector ? "vector store" : "cache") +
            ", not a " +
            (want == store_kind::vector ? "vector store" : "cache"),
        "open", u.redacted());
  // Ignoring it would let a user believe the store checks it.
  if (!u.password().empty() && !e.takes_password)
    throw store_error(
        errc::invalid_argument,
        std::string(e.scheme) + ":// takes no password; remove it from the URI",
        "open", u.redacted());
  // Here, not at the first request: open promises invalid_argument for a
  // bad URI (runtime.hpp).
  e.check(u);
  pool_spec<Backend> spec;
  spec.store = u.redacted();
  spec.size =
      static_cast<std::uint32_t>(u.int_param("pool", default_pool, 1, 256));
  spec.sharded = e.in_process;
  spec.callers_run = e.callers_run;
  spec.timeout = deadline_of(u);
  spec.max_inflight = static_cast<std::size_t>(
      u.int_param("max_inflight", default_max_inflight, 1, 1 << 24));
  maker<Backend> make;
  if constexpr (std::is_same_v<Backend, vector_backend>)
    make = e.vector;
  else
    make = e.cache;
  auto shards = spec.size;
  spec.make_backend = [u, make, shards](std::uint32_t index,
                                        open_deadline deadline) {
    return make(u, index, shards, deadline);
  };
  return spec;
}

// pool_for, its errors naming the operation (open) and the store.
template <class Backend>
pool_spec<Backend> opened_pool_for(const std::string& text, store_kind want) {
  try {
    return pool_for<Backend>(text, want);
  } catch (const store_error& e) {
    throw e.with_context("open", redact_uri(text));
  }
}

}  // namespace

pool_spec<vector_backend> vector_pool_for(const std::string& uri) {
  return opened_pool_for<vector_backend>(uri, store_kind::vector);
}

pool_spec<cache_backend> cache_pool_for(const std::string& uri) {
  return opened_pool_for<cache_backend>(uri, store_kind::cache);
}

bool is_remote(const std::string& uri) {
  return strncasecmp(uri.c_str(), "caf://", 6) == 0;
}

store_kind kind_of(const std::string& uri) {
  return entry_for(store_uri::parse(uri)).kind;
}

const char* to_string(store_kind k) {
  return k == store_kind::vector ? "vector" : "cache";
}

std::chrono::milliseconds deadline_of(const store_uri& u) {
  return std::chrono::milliseconds(
      u.int_param("timeout_ms", default_timeout_ms, 1, 24 * 3600 * 1000));
}

}  // namespace storage
