#include "adapters/faiss_store_db.hpp"

#include <sqlite3.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "messages/errors.hpp"
#include "messages/json.hpp"

namespace storage::faiss_detail {

namespace {

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

metadata parse_metadata(const std::string& text) {
  if (text.empty()) return {};
  return metadata_from_json(nlohmann::json::parse(text));
}

// Columns: id, embedding, metadata[, document].
vector_record read_record(const use& u, bool with_document) {
  vector_record r;
  r.id = u.column_text(0);
  r.embedding = u.column_floats(1);
  r.metadata = parse_metadata(u.column_text(2));
  if (with_document && !u.column_null(3)) r.document = u.column_text(3);
  return r;
}

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

database::database(const std::string& path, bool full_sync) : path_(path) {
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
        "dimension INTEGER NOT NULL, metric TEXT NOT NULL) WITHOUT ROWID");
    // BINARY collation compares TEXT with memcmp: id order is bytewise.
    exec(
        "CREATE TABLE IF NOT EXISTS records(collection TEXT NOT NULL, "
        "id TEXT NOT NULL, embedding BLOB NOT NULL, metadata TEXT NOT NULL, "
        "document TEXT, PRIMARY KEY(collection, id)) WITHOUT ROWID");
    list_collections_ = statement(
        db_, "SELECT name, dimension, metric FROM collections ORDER BY name");
    insert_collection_ = statement(
        db_, "INSERT INTO collections(name, dimension, metric) VALUES(?,?,?)");
    delete_collection_ =
        statement(db_, "DELETE FROM collections WHERE name = ?");
    delete_records_ =
        statement(db_, "DELETE FROM records WHERE collection = ?");
    upsert_ = statement(db_,
                        "INSERT OR REPLACE INTO records(collection, id, "
                        "embedding, metadata, document) VALUES(?,?,?,?,?)");
    remove_ =
        statement(db_, "DELETE FROM records WHERE collection = ? AND id = ?");
    get_ = statement(db_,
                     "SELECT id, embedding, metadata, document FROM records "
                     "WHERE collection = ? AND id = ?");
    document_ = statement(
        db_, "SELECT document FROM records WHERE collection = ? AND id = ?");
    count_ =
        statement(db_, "SELECT COUNT(*) FROM records WHERE collection = ?");
    scan_ = statement(db_,
                      "SELECT id, embedding, metadata, document FROM records "
                      "WHERE collection = ? AND id > ? ORDER BY id LIMIT ?");
    load_ = statement(db_,
                      "SELECT id, embedding, metadata FROM records "
                      "WHERE collection = ? ORDER BY id");
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

std::vector<collection_spec> database::collections() {
  std::vector<collection_spec> out;
  use u(list_collections_);
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) {
    collection_spec spec;
    spec.name = u.column_text(0);
    spec.dimension = static_cast<std::uint32_t>(u.column_int(1));
    spec.metric = parse_metric(u.column_text(2));
    out.push_back(std::move(spec));
  }
  if (rc != SQLITE_DONE) fail(rc, "listing collections");
  return out;
}

void database::add_collection(const collection_spec& spec) {
  std::string m = to_string(spec.metric);
  use u(insert_collection_);
  u.text(1, spec.name).integer(2, spec.dimension).text(3, m);
  if (int rc = u.step(); rc != SQLITE_DONE)
    fail(rc, "creating collection '" + spec.name + "'");
}

void database::drop_collection(const std::string& name) {
  transaction([&] {
    {
      use u(delete_records_);
      u.text(1, name);
      if (int rc = u.step(); rc != SQLITE_DONE)
        fail(rc, "dropping the records of '" + name + "'");
    }
    use u(delete_collection_);
    u.text(1, name);
    if (int rc = u.step(); rc != SQLITE_DONE)
      fail(rc, "dropping collection '" + name + "'");
  });
}

void database::upsert(const std::string& collection,
                      const std::vector<vector_record>& records) {
  transaction([&] {
    for (auto& r : records) {
      std::string meta = metadata_to_json(normalized(r.metadata)).dump();
      use u(upsert_);
      u.text(1, collection)
          .text(2, r.id)
          .blob(3, r.embedding.data(), r.embedding.size() * sizeof(float))
          .text(4, meta);
      if (r.document)
        u.text(5, *r.document);
      else
        u.null(5);
      if (int rc = u.step(); rc != SQLITE_DONE)
        fail(rc, "writing record '" + r.id + "'");
    }
  });
}

std::uint64_t database::remove(const std::string& collection,
                               const std::vector<std::string>& ids) {
  std::uint64_t removed = 0;
  transaction([&] {
    for (auto& id : ids) {
      use u(remove_);
      u.text(1, collection).text(2, id);
      if (int rc = u.step(); rc != SQLITE_DONE)
        fail(rc, "deleting record '" + id + "'");
      removed += static_cast<std::uint64_t>(sqlite3_changes(db_));
    }
  });
  return removed;
}

std::optional<vector_record> database::get(const std::string& collection,
                                           const std::string& id) {
  use u(get_);
  u.text(1, collection).text(2, id);
  int rc = u.step();
  if (rc == SQLITE_ROW) return read_record(u, true);
  if (rc != SQLITE_DONE) fail(rc, "reading record '" + id + "'");
  return std::nullopt;
}

std::optional<std::string> database::document(const std::string& collection,
                                              const std::string& id) {
  use u(document_);
  u.text(1, collection).text(2, id);
  int rc = u.step();
  if (rc == SQLITE_ROW)
    return u.column_null(0) ? std::nullopt
                            : std::optional<std::string>(u.column_text(0));
  if (rc != SQLITE_DONE) fail(rc, "reading the document of '" + id + "'");
  return std::nullopt;
}

std::uint64_t database::count(const std::string& collection) {
  use u(count_);
  u.text(1, collection);
  int rc = u.step();
  if (rc != SQLITE_ROW) fail(rc, "counting '" + collection + "'");
  return static_cast<std::uint64_t>(u.column_int(0));
}

std::vector<vector_record> database::scan(const std::string& collection,
                                          const std::string& after,
                                          std::int64_t limit) {
  std::vector<vector_record> out;
  use u(scan_);
  u.text(1, collection).text(2, after).integer(3, limit);
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) out.push_back(read_record(u, true));
  if (rc != SQLITE_DONE) fail(rc, "scanning '" + collection + "'");
  return out;
}

void database::load(const std::string& collection,
                    const std::function<void(vector_record&&)>& sink) {
  use u(load_);
  u.text(1, collection);
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) sink(read_record(u, false));
  if (rc != SQLITE_DONE) fail(rc, "loading '" + collection + "'");
}

}  // namespace storage::faiss_detail
