// What a router needs to know to run one backend's pool: how many workers,
// whether they are shards, the bounds, and how to make each worker's adapter.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actors/pool/inline_policy.hpp"
#include "adapters/open_deadline.hpp"

namespace storage {

class store_metrics;

template <class Backend>
struct pool_spec {
  std::string store;  // the redacted URI, as errors name it
  std::uint32_t size = 1;
  // The state lives in each worker (memory://, faiss://): workers are shards
  // that own the keys hashing to them, not interchangeable connections.
  bool sharded = false;
  // Who may run a request on its own thread while the worker is idle
  // (actors/pool/worker_core.hpp).
  inline_policy callers_run = inline_policy::never;
  std::chrono::milliseconds timeout{10000};
  std::size_t max_inflight = 1024;
  // Builds worker `index`'s adapter for a request due by `deadline`, which
  // bounds what the making waits for (adapters/factories.hpp); called at
  // the worker's first request and again after a lost connection, so a
  // server that comes back is reconnected.
  std::function<std::unique_ptr<Backend>(std::uint32_t index,
                                         open_deadline deadline)>
      make_backend;
  // The store's counters (actors/pool/store_metrics.hpp), shared by every
  // pool the store ever has; set by its router.
  std::shared_ptr<store_metrics> metrics;
};

// Turns a URI into a pool_spec; throws store_error for a bad URI. The router
// keeps it to build a new pool when it is swapped to another URI.
template <class Backend>
using pool_factory = std::function<pool_spec<Backend>(const std::string& uri)>;

// Stable across processes and builds (unlike std::hash), because in-process
// shards persist the keys they own.
inline std::uint64_t key_hash(const std::string& key) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace storage
