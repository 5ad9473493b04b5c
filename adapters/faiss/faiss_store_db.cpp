#include "adapters/faiss/faiss_store_db.hpp"

#include <sqlite3.h>

#include "adapters/faiss/faiss_store_db_use.hpp"
#include "messages/errors.hpp"

namespace storage::faiss_detail {

namespace {

bool is_io_failure(int rc) {
  switch (rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return true;
    default:
      return false;
  }
}

}  // namespace

statement::statement(sqlite3* db, const char* sql) {
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_,
                         nullptr) != SQLITE_OK)
    throw store_error(errc::internal, std::string("cannot prepare '") + sql +
                                          "': " + sqlite3_errmsg(db));
}

statement::~statement() {
  sqlite3_finalize(stmt_);
}

statement& statement::operator=(statement&& other) noexcept {
  std::swap(stmt_, other.stmt_);
  return *this;
}

database::database(const std::string& path, bool full_sync, bool log_removals)
    : path_(path), log_removals_(log_removals) {
  int rc = sqlite3_open_v2(
      path.c_str(), &db_,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    throw store_error(errc::backend_unavailable,
                      "cannot open SQLite file " + path + ": " + msg);
  }
  try {
    // A writer holding the lock makes us wait this long, then fail with
    // timeout rather than hang.
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec(full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec(
        "CREATE TABLE IF NOT EXISTS collections(name TEXT PRIMARY KEY, "
        "dimension INTEGER NOT NULL, metric TEXT NOT NULL, "
        "incarnation INTEGER NOT NULL DEFAULT 0, "
        "seq INTEGER NOT NULL DEFAULT 0, "
        "forgotten INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID");
    // BINARY collation compares TEXT with memcmp: id order is bytewise.
    exec(
        "CREATE TABLE IF NOT EXISTS records(collection TEXT NOT NULL, "
        "id TEXT NOT NULL, embedding BLOB NOT NULL, metadata TEXT NOT NULL, "
        "document TEXT, seq INTEGER NOT NULL DEFAULT 0, "
        "PRIMARY KEY(collection, id)) WITHOUT ROWID");
    exec(
        "CREATE TABLE IF NOT EXISTS removed(collection TEXT NOT NULL, "
        "id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(collection, id)) "
        "WITHOUT ROWID");
    upgrade_schema();
    // Removals no longer logged: no snapshot taken so far can be replayed.
    if (!log_removals_)
      exec("DELETE FROM removed; UPDATE collections SET forgotten = seq");
    exec(
        "CREATE INDEX IF NOT EXISTS records_by_seq ON records(collection, "
        "seq)");
    list_collections_ = statement(db_,
                                  "SELECT name, dimension, metric, "
                                  "incarnation FROM collections ORDER BY name");
    insert_collection_ = statement(db_,
                                   "INSERT INTO collections(name, dimension, "
                                   "metric, incarnation) VALUES(?,?,?,?)");
    delete_collection_ =
        statement(db_, "DELETE FROM collections WHERE name = ?");
    delete_records_ =
        statement(db_, "DELETE FROM records WHERE collection = ?");
    delete_removed_ =
        statement(db_, "DELETE FROM removed WHERE collection = ?");
    upsert_ = statement(db_,
                        "INSERT OR REPLACE INTO records(collection, id, "
                        "embedding, metadata, document, seq) "
                        "VALUES(?,?,?,?,?,?)");
    remove_ =
        statement(db_, "DELETE FROM records WHERE collection = ? AND id = ?");
    log_removal_ = statement(db_,
                             "INSERT OR REPLACE INTO removed(collection, id, "
                             "seq) VALUES(?,?,?)");
    get_ = statement(db_,
                     "SELECT id, embedding, metadata, document FROM records "
                     "WHERE collection = ? AND id = ?");
    document_ = statement(
        db_, "SELECT document FROM records WHERE collection = ? AND id = ?");
    begin_read_ = statement(db_, "BEGIN DEFERRED");
    end_read_ = statement(db_, "COMMIT");
    count_ =
        statement(db_, "SELECT COUNT(*) FROM records WHERE collection = ?");
    scan_ = statement(db_,
                      "SELECT id, embedding, metadata, document FROM records "
                      "WHERE collection = ? AND id > ? ORDER BY id LIMIT ?");
    // records_by_seq holds (collection, seq, id): no sort.
    load_since_ = statement(db_,
                            "SELECT id, embedding, metadata, seq FROM records "
                            "WHERE collection = ? AND (seq, id) > (?, ?) "
                            "ORDER BY seq, id LIMIT ?");
    load_by_id_ = statement(db_,
                            "SELECT id, embedding, metadata FROM records "
                            "WHERE collection = ? AND id > ? ORDER BY id "
                            "LIMIT ?");
    removed_since_ = statement(
        db_, "SELECT id FROM removed WHERE collection = ? AND seq > ?");
    forget_removals_ =
        statement(db_, "DELETE FROM removed WHERE collection = ? AND seq <= ?");
    mark_forgotten_ = statement(db_,
                                "UPDATE collections SET forgotten = "
                                "max(forgotten, ?) WHERE name = ?");
    forgotten_ =
        statement(db_, "SELECT forgotten FROM collections WHERE name = ?");
    next_seq_ = statement(db_,
                          "UPDATE collections SET seq = seq + 1 "
                          "WHERE name = ? RETURNING seq");
    last_seq_ = statement(db_, "SELECT seq FROM collections WHERE name = ?");
  } catch (const store_error& e) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw store_error(errc::backend_unavailable,
                      "cannot set up SQLite file " + path + ": " + e.message());
  }
}

// close_v2 waits for the statements, which are finalized after this body.
database::~database() {
  sqlite3_close_v2(db_);
}

void database::fail(int rc, const std::string& what) {
  std::string msg = what + " in " + path_ + ": " + sqlite3_errmsg(db_);
  if (is_io_failure(rc)) {
    broken_ = true;
    throw store_error(errc::backend_unavailable, msg);
  }
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
    throw store_error(errc::timeout, msg);
  throw store_error(errc::internal, msg);
}

void database::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if (is_io_failure(rc)) broken_ = true;
    throw store_error(is_io_failure(rc)            ? errc::backend_unavailable
                      : (rc & 0xff) == SQLITE_BUSY ? errc::timeout
                                                   : errc::internal,
                      std::string(sql) + " in " + path_ + ": " + msg);
  }
}

void database::upgrade_schema() {
  auto has_column = [this](const char* table, const char* column) {
    statement st(db_,
                 (std::string("PRAGMA table_info(") + table + ")").c_str());
    use u(st);
    int rc;
    while ((rc = u.step()) == SQLITE_ROW)
      if (u.column_text(1) == column) return true;
    if (rc != SQLITE_DONE)
      fail(rc, std::string("reading the schema of ") + table);
    return false;
  };
  if (!has_column("records", "seq"))
    exec("ALTER TABLE records ADD COLUMN seq INTEGER NOT NULL DEFAULT 0");
  if (!has_column("collections", "seq"))
    exec("ALTER TABLE collections ADD COLUMN seq INTEGER NOT NULL DEFAULT 0");
  if (!has_column("collections", "forgotten"))
    exec(
        "ALTER TABLE collections ADD COLUMN forgotten INTEGER NOT NULL "
        "DEFAULT 0");
  if (!has_column("collections", "incarnation"))
    exec(
        "ALTER TABLE collections ADD COLUMN incarnation INTEGER NOT NULL "
        "DEFAULT 0");
  exec(
      "UPDATE collections SET incarnation = (random() & 9223372036854775807) "
      "| 1 WHERE incarnation = 0");
}

void database::step_done(statement& st, const std::string& what) {
  int rc = sqlite3_step(st.get());
  if (rc != SQLITE_DONE) fail(rc, what);
}

void database::transaction(const std::function<void()>& fn) {
  exec("BEGIN IMMEDIATE");
  try {
    fn();
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void database::reading(const std::function<void()>& fn) {
  if (!sqlite3_get_autocommit(db_)) return fn();
  {
    use u(begin_read_);
    if (int rc = u.step(); rc != SQLITE_DONE) fail(rc, "starting a read");
  }
  try {
    fn();
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  use u(end_read_);
  if (int rc = u.step(); rc != SQLITE_DONE) {
    // Left open, the transaction would make every later write fail.
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    fail(rc, "ending a read");
  }
}

}  // namespace storage::faiss_detail
