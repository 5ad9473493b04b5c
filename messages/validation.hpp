// Checks the contract makes before anything reaches a backend. Each throws
// store_error naming what was wrong; nothing has been written when it does.
#pragma once

#include <string>
#include <vector>

#include "messages/errors.hpp"
#include "messages/limits.hpp"
#include "messages/records.hpp"

namespace storage {

// What a vector store writes -- ids, documents, metadata keys and string
// values -- and the strings of a `where`: UTF-8 without NUL, what
// PostgreSQL text and Chroma's JSON can hold, so a record one backend takes
// every backend takes (and a migration can copy). Ids to get or delete are
// not checked: a record an older version stored with other bytes stays
// readable and deletable, and on the server backends such an id is simply
// absent (text_ids). Cache keys and values are bytes and are not checked.
// not_text throws invalid_argument naming `what` and the first bad byte.
bool is_text(const std::string& s);
[[noreturn]] void not_text(const std::string& s, const std::string& what);
// The ids of `ids` that are text, in order.
std::vector<std::string> text_ids(const std::vector<std::string>& ids);

// 3-63 characters from A-Z a-z 0-9 _ -, starting and ending alphanumeric.
void validate_collection_name(const std::string& name);
void validate_collection_spec(const collection_spec& spec);

// A whole batch: at most max_batch_records, ids non-empty, unique and at most
// max_id_bytes, text as is_text says, metadata keys non-empty and numbers
// finite, embeddings non-empty, finite, at most max_dimension and all of
// one length (dimension_mismatch otherwise).
void validate_batch(const std::vector<vector_record>& records);

// The batch against the collection's dimension (dimension_mismatch).
void validate_dimension(const std::vector<vector_record>& records,
                        std::uint32_t dimension);

// At most max_batch_ids ids, each non-empty and at most max_id_bytes.
void validate_ids(const std::vector<std::string>& ids);
void validate_search(const search_request& req);
// What validate_search checks, for every query (errors name the query's
// index: "query 3: ..."), plus 1 to max_batch_queries queries, all of one
// length (dimension_mismatch otherwise).
void validate_batch_search(const batch_search_request& req);
// `e`, raised for query `index` of a batch, naming that query when the
// error is about the query itself (invalid_argument, dimension_mismatch).
store_error for_query(std::size_t index, const store_error& e);

// Non-empty and at most max_key_bytes; a batch holds at most max_batch_keys.
void validate_key(const std::string& key);
void validate_keys(const std::vector<std::string>& keys);
void validate_ttl(const ttl_ms& ttl);  // absent, or 1 to max_ttl_ms
// Key and ttl as above, the value at most max_value_bytes.
void validate_entry(const cache_entry& e);
void validate_entries(const std::vector<cache_entry>& entries);

}  // namespace storage
