// From a URI to a pool: which adapter, how many workers, whether they are
// shards, the deadline and the in-flight bound. Runtime-level parameters,
// accepted on every scheme: pool=N (workers; shards for memory:// and
// faiss://, default 1), timeout_ms (per-request deadline, default 10000),
// max_inflight (requests in flight before `overloaded`, default 1024).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include "actors/pool/pool_spec.hpp"
#include "adapters/cache_backend.hpp"
#include "adapters/vector_backend.hpp"
#include "messages/store_uri.hpp"

namespace storage {

enum class store_kind { vector, cache };

// The runtime parameters' defaults (store_identity leaves them out).
constexpr std::int64_t default_pool = 1;
constexpr std::int64_t default_timeout_ms = 10000;
constexpr std::int64_t default_max_inflight = 1024;

// invalid_argument for an unknown scheme, a scheme of the other kind, a bad
// runtime parameter or a bad parameter of the adapter (its check_<x>_uri,
// adapters/factories.hpp), all before anything is opened.
pool_spec<vector_backend> vector_pool_for(const std::string& uri);
pool_spec<cache_backend> cache_pool_for(const std::string& uri);

// Whether `uri` names a store another node serves (caf://, in any case:
// schemes are case-insensitive, store_uri::parse).
bool is_remote(const std::string& uri);

// The kind a URI's scheme names; invalid_argument for an unknown scheme.
store_kind kind_of(const std::string& uri);

// "vector" or "cache", as the node directory and errors name a kind.
const char* to_string(store_kind k);

// How long a migration's own index build, on an adapter of its own, may
// take: it is no caller's request, so not the store's timeout_ms but at
// least an hour (a million rows take minutes).
inline std::chrono::milliseconds index_build_time(
    std::chrono::milliseconds store_timeout) {
  return std::max<std::chrono::milliseconds>(store_timeout,
                                             std::chrono::hours(1));
}

// A store's per-request deadline: its URI's timeout_ms (default 10000), on
// every scheme, caf:// included; invalid_argument when out of range.
std::chrono::milliseconds deadline_of(const store_uri& u);

}  // namespace storage
