// What one request may hold. Input beyond these — hostile or mistaken — is
// rejected with invalid_argument naming the limit before anything is
// allocated for it, sent to a server or written: a filter nested thousands
// deep would overflow the stack of every recursive walk over it, and a
// single huge key or batch would hold a worker (and the server) for as long
// as it takes. Each limit is far above what the backends handle well.
#pragma once

#include <cstddef>
#include <cstdint>

namespace storage {

// Vector stores.
constexpr std::size_t max_dimension = 65535;  // floats per embedding
// An embedding's length (L2 norm): twice it, squared, still fits a float
// (3.4e38), so no distance between two embeddings overflows.
constexpr double max_embedding_norm = 9.2e18;
constexpr std::size_t max_batch_records = 100000;  // records per upsert
constexpr std::size_t max_batch_ids = 100000;      // ids per get/delete
constexpr std::size_t max_id_bytes = 64 * 1024;    // one record id
constexpr std::size_t max_batch_queries = 10000;   // queries per batch
constexpr std::size_t max_filter_depth = 32;       // nested $and/$or
constexpr std::size_t max_filter_terms = 10000;    // leaves + $in values

// Caches.
constexpr std::size_t max_key_bytes = 64 * 1024;           // one key
constexpr std::size_t max_value_bytes = 64 * 1024 * 1024;  // one value
constexpr std::size_t max_batch_keys = 100000;  // keys per mget/del/mset
// A TTL of 100 years: Redis's PX plus the server's clock and steady_clock's
// nanoseconds (~292 years) cannot overflow, and every backend keeps the same
// remaining time.
constexpr std::int64_t max_ttl_ms = 100LL * 365 * 24 * 3600 * 1000;

}  // namespace storage
