// One factory function per adapter, each defined in that adapter's file. The
// runtime's factory (runtime/backend_factory.cpp) maps URI schemes onto them.
//
// `shard` and `shards` matter only for in-process backends, where pool=N
// means N shards (shard is 0-based). Every factory rejects unknown URI
// parameters with invalid_argument; the runtime's own parameters (pool,
// timeout_ms, max_inflight) are always accepted.
//
// `deadline` is that of the request the adapter is made for (a pool makes
// a worker's adapter at its first request and again after a lost
// connection): whatever the making waits for -- a server's login, a locked
// SQLite file -- it waits for no longer, and fails with `timeout`. Without
// one (the default) only the adapter's own limits apply.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "adapters/cache_backend.hpp"
#include "adapters/open_deadline.hpp"
#include "adapters/vector_backend.hpp"
#include "messages/store_uri.hpp"

namespace storage {

// URI parameters the runtime itself reads; adapters accept and ignore them.
#define STORAGE_RUNTIME_PARAMS "pool", "timeout_ms", "max_inflight"

std::unique_ptr<cache_backend> make_memory_cache(
    const store_uri& uri, std::uint32_t shard, std::uint32_t shards,
    open_deadline deadline = no_deadline);
std::unique_ptr<cache_backend> make_sqlite_cache(
    const store_uri& uri, std::uint32_t shard, std::uint32_t shards,
    open_deadline deadline = no_deadline);
std::unique_ptr<cache_backend> make_redis_cache(
    const store_uri& uri, std::uint32_t shard, std::uint32_t shards,
    open_deadline deadline = no_deadline);

std::unique_ptr<vector_backend> make_faiss_store(
    const store_uri& uri, std::uint32_t shard, std::uint32_t shards,
    open_deadline deadline = no_deadline);
std::unique_ptr<vector_backend> make_pgvector_store(
    const store_uri& uri, std::uint32_t shard, std::uint32_t shards,
    open_deadline deadline = no_deadline);
std::unique_ptr<vector_backend> make_chroma_store(
    const store_uri& uri, std::uint32_t shard, std::uint32_t shards,
    open_deadline deadline = no_deadline);

// Throws what the matching make_* throws for a bad URI (an unknown
// parameter, a value out of range), opening nothing: the runtime checks a
// URI when a store is opened, not at its first request.
void check_memory_uri(const store_uri& uri);
void check_sqlite_uri(const store_uri& uri);
void check_redis_uri(const store_uri& uri);
void check_faiss_uri(const store_uri& uri);
// The directory a faiss:// URI names: faiss://relative/dir is relative,
// faiss://localhost/dir is /dir, as in a file URI.
std::string faiss_directory(const store_uri& uri);
void check_pgvector_uri(const store_uri& uri);
void check_chroma_uri(const store_uri& uri);

}  // namespace storage
