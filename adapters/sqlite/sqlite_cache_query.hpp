// One use of a prepared statement: binds, steps, reads columns, and resets it
// when the scope ends so no statement holds a read snapshot open.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

namespace storage {

// Throws store_error with the code matching SQLite's result code `rc`.
[[noreturn]] void raise_sqlite(sqlite3* db, int rc, const std::string& store,
                               const char* op);

class sqlite_query {
 public:
  sqlite_query(sqlite3* db, sqlite3_stmt* stmt, const std::string& store,
               const char* op)
      : db_(db), stmt_(stmt), store_(store), op_(op) {}
  ~sqlite_query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  sqlite_query(const sqlite_query&) = delete;
  sqlite_query& operator=(const sqlite_query&) = delete;

  sqlite_query& text(int i, const std::string& v) {
    return check(sqlite3_bind_text(
        stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  // Values are bytes, not necessarily UTF-8.
  sqlite_query& blob(int i, const std::string& v) {
    return check(sqlite3_bind_blob(
        stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  sqlite_query& num(int i, std::int64_t v) {
    return check(sqlite3_bind_int64(stmt_, i, v));
  }
  sqlite_query& opt(int i, const std::optional<std::int64_t>& v) {
    return v ? num(i, *v) : check(sqlite3_bind_null(stmt_, i));
  }

  // True with a row to read, false when done.
  bool next() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    raise_sqlite(db_, rc, store_, op_);
  }
  std::int64_t changes() const { return sqlite3_changes(db_); }

  std::string column_text(int i) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
    return p ? std::string(
                   p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
             : std::string();
  }
  std::string column_blob(int i) const {
    auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
    return p ? std::string(
                   p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
             : std::string();
  }
  std::optional<std::int64_t> column_opt(int i) const {
    if (sqlite3_column_type(stmt_, i) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(stmt_, i);
  }

 private:
  sqlite_query& check(int rc) {
    if (rc != SQLITE_OK) raise_sqlite(db_, rc, store_, op_);
    return *this;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  const std::string& store_;
  const char* op_;
};

}  // namespace storage
