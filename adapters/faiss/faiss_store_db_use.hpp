// The statements' plumbing shared by faiss_store_db*.cpp. Private to the
// faiss_store library.
#pragma once

#include <sqlite3.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/faiss/faiss_store_db.hpp"
#include "messages/json.hpp"

namespace storage::faiss_detail {

// A statement in use: reset and unbound when the scope ends, so a throw
// never leaves it holding a read lock or stale bindings.
class use {
 public:
  explicit use(statement& st) : s_(st.get()) {}
  ~use() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  use(const use&) = delete;
  use& operator=(const use&) = delete;

  use& text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()),
                      SQLITE_STATIC);
    return *this;
  }
  use& integer(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  use& blob(int i, const void* p, std::size_t n) {
    sqlite3_bind_blob(s_, i, p, static_cast<int>(n), SQLITE_STATIC);
    return *this;
  }
  use& null(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  int step() { return sqlite3_step(s_); }

  std::string column_text(int i) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, i));
    return p ? std::string(
                   p, static_cast<std::size_t>(sqlite3_column_bytes(s_, i)))
             : std::string();
  }
  bool column_null(int i) const {
    return sqlite3_column_type(s_, i) == SQLITE_NULL;
  }
  std::int64_t column_int(int i) const { return sqlite3_column_int64(s_, i); }
  std::vector<float> column_floats(int i) const {
    auto* p = sqlite3_column_blob(s_, i);
    auto n = static_cast<std::size_t>(sqlite3_column_bytes(s_, i));
    std::vector<float> out(n / sizeof(float));
    if (p && !out.empty()) std::memcpy(out.data(), p, out.size() * 4);
    return out;
  }

 private:
  sqlite3_stmt* s_;
};

inline metadata parse_metadata(const std::string& text) {
  if (text.empty()) return {};
  return metadata_from_json(nlohmann::json::parse(text));
}

// Columns: id, embedding, metadata[, document].
inline vector_record read_record(const use& u, bool with_document) {
  vector_record r;
  r.id = u.column_text(0);
  r.embedding = u.column_floats(1);
  r.metadata = parse_metadata(u.column_text(2));
  if (with_document && !u.column_null(3)) r.document = u.column_text(3);
  return r;
}

}  // namespace storage::faiss_detail
