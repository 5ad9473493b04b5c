#include "messages/validation.hpp"

#include <cmath>
#include <cstdio>
#include <unordered_set>

#include "messages/errors.hpp"

namespace storage {

namespace {

[[noreturn]] void invalid(const std::string& what) {
  throw store_error(errc::invalid_argument, what);
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

std::string shown(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", d);
  return buf;
}

void validate_embedding(const std::vector<float>& v, const std::string& what) {
  if (v.empty()) invalid(what + ": empty embedding");
  if (v.size() > max_dimension)
    invalid(what + ": " + std::to_string(v.size()) +
            " dimensions, more than the limit of " +
            std::to_string(max_dimension));
  double squared = 0;
  for (float x : v) {
    if (!std::isfinite(x)) invalid(what + ": embedding contains NaN or Inf");
    squared += static_cast<double>(x) * x;
  }
  // Backends compute distances in float (FAISS, pgvector, Chroma's cosine
  // normalisation): past this length one between two embeddings, or the
  // length itself, overflows to Inf, and Chroma stores such a vector as
  // nulls it cannot read back.
  if (squared > max_embedding_norm * max_embedding_norm)
    invalid(what + ": embedding's length " + shown(std::sqrt(squared)) +
            " is beyond the limit of " + shown(max_embedding_norm) +
            " (distances would overflow float)");
}

// Where the first byte that breaks UTF-8 (or is NUL) is, or npos. Well-formed
// as RFC 3629 says: no overlong forms, no surrogates, nothing past U+10FFFF.
std::size_t first_bad_byte(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c == 0) return i;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (len == 0 || c > 0xF4 || i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return i;
    unsigned char d = p[i + 1];
    if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) ||
        (c == 0xF0 && d < 0x90) || (c == 0xF4 && d > 0x8F))
      return i;
    i += len;
  }
  return std::string::npos;
}

}  // namespace

std::vector<std::string> text_ids(const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (auto& id : ids)
    if (is_text(id)) out.push_back(id);
  return out;
}

bool is_text(const std::string& s) {
  return first_bad_byte(s) == std::string::npos;
}

void not_text(const std::string& s, const std::string& what) {
  auto at = first_bad_byte(s);
  invalid(what + (s[at] == '\0' ? " holds a NUL byte" : " is not UTF-8") +
          " (byte " + std::to_string(at) +
          "); text must be UTF-8 without NUL, which every backend can store");
}

void validate_collection_name(const std::string& name) {
  bool ok = name.size() >= 3 && name.size() <= 63 && is_alnum(name.front()) &&
            is_alnum(name.back());
  for (char c : name) ok = ok && (is_alnum(c) || c == '_' || c == '-');
  if (!ok)
    invalid("collection name '" + name +
            "' must be 3-63 characters from A-Z a-z 0-9 _ -, starting and "
            "ending with a letter or digit");
}

void validate_collection_spec(const collection_spec& spec) {
  validate_collection_name(spec.name);
  if (spec.dimension == 0 || spec.dimension > max_dimension)
    invalid("dimension must be between 1 and " + std::to_string(max_dimension) +
            ", got " + std::to_string(spec.dimension));
}

namespace {

void validate_count(std::size_t n, std::size_t limit, const char* what) {
  if (n > limit)
    invalid(std::to_string(n) + " " + what +
            " in one request, more than the "
            "limit of " +
            std::to_string(limit) + "; send them in batches");
}

void validate_id(const std::string& id) {
  if (id.empty()) invalid("empty id");
  if (id.size() > max_id_bytes)
    invalid("an id of " + std::to_string(id.size()) +
            " bytes, more than the limit of " + std::to_string(max_id_bytes));
}

// An id with its bytes outside printable ASCII as \xNN: the message must
// name a record whose id is what is wrong.
std::string escaped(const std::string& id) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : id.substr(0, 256)) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// Messages are built only for a record that fails: this runs per record.
void validate_record_text(const vector_record& r) {
  if (r.document && !is_text(*r.document))
    not_text(*r.document, "record '" + r.id + "': the document");
  for (auto& [key, value] : r.metadata) {
    if (key.empty()) invalid("record '" + r.id + "': an empty metadata key");
    if (!is_text(key)) not_text(key, "record '" + r.id + "': a metadata key");
    auto* s = std::get_if<std::string>(&value);
    if (s && !is_text(*s))
      not_text(*s, "record '" + r.id + "': metadata '" + key + "'");
    // JSON and PostgreSQL have no NaN or infinity: what one backend kept,
    // another would refuse or lose.
    auto* d = std::get_if<double>(&value);
    if (d && !std::isfinite(*d))
      invalid("record '" + r.id + "': metadata '" + key +
              "' is not a finite number");
  }
}

}  // namespace

void validate_batch(const std::vector<vector_record>& records) {
  validate_count(records.size(), max_batch_records, "records");
  std::unordered_set<std::string> seen;
  std::size_t dim = records.empty() ? 0 : records.front().embedding.size();
  for (auto& r : records) {
    if (r.id.empty()) invalid("a record has an empty id");
    validate_id(r.id);
    if (!is_text(r.id))
      not_text(r.id, "the id of record " + std::to_string(&r - records.data()) +
                         " ('" + escaped(r.id) + "')");
    validate_record_text(r);
    if (!seen.insert(r.id).second)
      invalid("duplicate id '" + r.id + "' in one batch");
    validate_embedding(r.embedding, "record '" + r.id + "'");
    if (r.embedding.size() != dim)
      throw store_error(
          errc::dimension_mismatch,
          "record '" + r.id + "' has " + std::to_string(r.embedding.size()) +
              " dimensions, the batch has " + std::to_string(dim));
  }
}

void validate_dimension(const std::vector<vector_record>& records,
                        std::uint32_t dimension) {
  for (auto& r : records)
    if (r.embedding.size() != dimension)
      throw store_error(
          errc::dimension_mismatch,
          "record '" + r.id + "' has " + std::to_string(r.embedding.size()) +
              " dimensions, the collection has " + std::to_string(dimension));
}

void validate_ids(const std::vector<std::string>& ids) {
  validate_count(ids.size(), max_batch_ids, "ids");
  for (auto& id : ids) validate_id(id);
}

void validate_search(const search_request& req) {
  if (req.k == 0) invalid("k must be positive");
  validate_embedding(req.query, "query");
  if (req.where) filter::check(*req.where);
}

void validate_batch_search(const batch_search_request& req) {
  if (req.queries.empty()) invalid("a batch search needs at least one query");
  if (req.queries.size() > max_batch_queries)
    invalid("a batch search takes at most " +
            std::to_string(max_batch_queries) + " queries, got " +
            std::to_string(req.queries.size()));
  if (req.k == 0) invalid("k must be positive");
  if (req.where) filter::check(*req.where);
  const auto dim = req.queries.front().size();
  for (std::size_t i = 0; i < req.queries.size(); ++i) {
    auto& q = req.queries[i];
    auto what = "query " + std::to_string(i);
    validate_embedding(q, what);
    if (q.size() != dim)
      throw store_error(errc::dimension_mismatch,
                        what + ": has " + std::to_string(q.size()) +
                            " dimensions, query 0 has " + std::to_string(dim));
  }
}

store_error for_query(std::size_t index, const store_error& e) {
  if (e.code() != errc::invalid_argument &&
      e.code() != errc::dimension_mismatch)
    return e;
  return store_error(e.code(),
                     "query " + std::to_string(index) + ": " + e.message(),
                     e.operation(), e.store());
}

void validate_key(const std::string& key) {
  if (key.empty()) invalid("empty key");
  if (key.size() > max_key_bytes)
    invalid("a key of " + std::to_string(key.size()) +
            " bytes, more than the limit of " + std::to_string(max_key_bytes));
}

void validate_keys(const std::vector<std::string>& keys) {
  validate_count(keys.size(), max_batch_keys, "keys");
  for (auto& k : keys) validate_key(k);
}

void validate_ttl(const ttl_ms& ttl) {
  if (ttl && *ttl <= 0)
    invalid("ttl must be a positive number of milliseconds, got " +
            std::to_string(*ttl));
  if (ttl && *ttl > max_ttl_ms)
    invalid("a ttl of " + std::to_string(*ttl) +
            " ms, more than the limit of " + std::to_string(max_ttl_ms) +
            " (100 years)");
}

void validate_entry(const cache_entry& e) {
  validate_key(e.key);
  if (e.value.size() > max_value_bytes)
    invalid("a value of " + std::to_string(e.value.size()) +
            " bytes for key '" + e.key.substr(0, 64) +
            "', more than the limit of " + std::to_string(max_value_bytes));
  validate_ttl(e.ttl);
}

void validate_entries(const std::vector<cache_entry>& entries) {
  validate_count(entries.size(), max_batch_keys, "entries");
  for (auto& e : entries) validate_entry(e);
}

}  // namespace storage
