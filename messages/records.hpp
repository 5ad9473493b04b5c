// The data types of the contract. Plain structs, no I/O, no CAF: adapters and
// applications include this without the actor framework.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "messages/filter.hpp"
#include "messages/value.hpp"

namespace storage {

enum class metric : std::uint8_t { cosine = 0, l2 = 1, ip = 2 };

const char* to_string(metric m);
// Throws store_error(invalid_argument) on an unknown name.
metric parse_metric(const std::string& name);

struct collection_spec {
  // 3-63 characters from A-Z a-z 0-9 _ -, starting and ending with a
  // letter or digit, on every backend (invalid_argument otherwise).
  std::string name;
  std::uint32_t dimension = 0;  // 1 to max_dimension (limits.hpp)
  storage::metric metric = metric::cosine;
  // A request, not part of the collection: a bulk load follows, so an
  // adapter whose approximate index is slow to grow row by row (pgvector's
  // HNSW) creates the collection without it, and a later create_collection
  // without the flag builds it (vector_backend.hpp). Others ignore it.
  // Equality ignores it, and list_collections never sets it.
  bool defer_index = false;
};

// Same name, dimension and metric (defer_index is no property of the
// collection).
inline bool operator==(const collection_spec& a, const collection_spec& b) {
  return a.name == b.name && a.dimension == b.dimension && a.metric == b.metric;
}

struct vector_record {
  std::string id;
  std::vector<float> embedding;
  storage::metadata metadata;
  std::optional<std::string> document;
};

bool operator==(const vector_record& a, const vector_record& b);

// What a search returns beside id and distance.
struct include_fields {
  bool metadata = true;
  bool document = true;
  bool embedding = false;
};

struct search_request {
  std::vector<float> query;
  std::uint32_t k = 10;
  std::optional<filter> where;
  include_fields include;
};

// Many queries sharing one k, where and include; answered as one hit list
// per query, in query order.
struct batch_search_request {
  std::vector<std::vector<float>> queries;
  std::uint32_t k = 10;
  std::optional<filter> where;
  include_fields include;
};

struct search_hit {
  std::string id;
  double distance = 0;
  storage::metadata metadata;
  std::optional<std::string> document;
  std::vector<float> embedding;  // empty unless include.embedding
};

// One page of a collection in id order (bytewise). An empty next_cursor means
// the scan is complete; otherwise pass it back to get the following page.
struct scan_page {
  std::vector<vector_record> records;
  std::string next_cursor;
};

// Cache side. TTLs are milliseconds; no value means no expiry.
using ttl_ms = std::optional<std::int64_t>;

struct cache_entry {
  std::string key;
  std::string value;
  ttl_ms ttl;  // remaining time to live when read, time to live when written
};

struct ttl_info {
  bool exists = false;
  ttl_ms ttl;  // empty: no expiry (or no key)
};

struct cache_scan_page {
  std::vector<cache_entry> entries;
  std::string next_cursor;  // empty: complete
};

}  // namespace storage
