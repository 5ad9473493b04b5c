// Chroma's JSON answers read into the contract's types, apart from the HTTP
// connection so each can be tested (and fuzzed) on its own. A malformed
// answer throws store_error or nlohmann::json::exception; chroma_store's
// guarded() turns the latter into store_error(internal).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/records.hpp"

namespace storage {

// What a collection's entry says: its id, dimension and metric.
struct chroma_collection {
  std::string id;
  std::uint32_t dimension = 0;  // 0: not known yet
  storage::metric metric = metric::l2;
};

// Chroma's /get and /query answer columns; row i as a record. Its
// embedding is the row's exact copy (below) when the "uris" column holds
// one that agrees with the "embeddings" column, else the embedding column.
vector_record chroma_record(const nlohmann::json& columns, std::size_t i);

// Ends the uri of a record stored without a document over one that had it
// (its document column holds ""): chroma_store.hpp, "Documents".
extern const char chroma_no_document[];

// The exact copy of an embedding kept in a record's uri on cosine
// collections: a data: URI of its float32 values, little-endian, base64.
std::string chroma_exact_copy(const std::vector<float>& embedding);

// The "include" of a /get or /query that reads whole records: with the
// uris, where exact copies are.
nlohmann::json chroma_record_columns();

// Every record of a /get answer, in its order.
std::vector<vector_record> chroma_records(const nlohmann::json& answer);

// Query q's columns of a /query answer, moved out of it, shaped as /get's.
nlohmann::json chroma_query_columns(nlohmann::json& answer, std::size_t q);

// A collection as /collections/{name} (or a create) answers it.
chroma_collection chroma_collection_info(const nlohmann::json& c);

// One entry of a /collections page: its name and the rest.
std::pair<std::string, chroma_collection> chroma_listed_collection(
    const nlohmann::json& c);

// A /count answer.
std::uint64_t chroma_count(const nlohmann::json& answer);

}  // namespace storage
