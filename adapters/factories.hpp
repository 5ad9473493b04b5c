// One factory function per adapter, each defined in that adapter's file. The
// runtime's factory (runtime/backend_factory.cpp) maps URI schemes onto them.
//
// `shard` and `shards` matter only for in-process backends, where pool=N
// means N shards (shard is 0-based). Every factory rejects unknown URI
// parameters with invalid_argument; the runtime's own parameters (pool,
// timeout_ms, max_inflight) are always accepted.
#pragma once

#include <cstdint>
#include <memory>

#include "adapters/cache_backend.hpp"
#include "adapters/vector_backend.hpp"
#include "messages/store_uri.hpp"

namespace storage {

// URI parameters the runtime itself reads; adapters accept and ignore them.
#define STORAGE_RUNTIME_PARAMS "pool", "timeout_ms", "max_inflight"

std::unique_ptr<cache_backend> make_memory_cache(const store_uri& uri,
                                                 std::uint32_t shard,
                                                 std::uint32_t shards);
std::unique_ptr<cache_backend> make_sqlite_cache(const store_uri& uri,
                                                 std::uint32_t shard,
                                                 std::uint32_t shards);
std::unique_ptr<cache_backend> make_redis_cache(const store_uri& uri,
                                                std::uint32_t shard,
                                                std::uint32_t shards);

std::unique_ptr<vector_backend> make_faiss_store(const store_uri& uri,
                                                 std::uint32_t shard,
                                                 std::uint32_t shards);
std::unique_ptr<vector_backend> make_pgvector_store(const store_uri& uri,
                                                    std::uint32_t shard,
                                                    std::uint32_t shards);
std::unique_ptr<vector_backend> make_chroma_store(const store_uri& uri,
                                                  std::uint32_t shard,
                                                  std::uint32_t shards);

}  // namespace storage
