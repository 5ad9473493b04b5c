#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "adapters/factories.hpp"
#include "adapters/sqlite/sqlite_cache.hpp"
#include "adapters/sqlite/sqlite_cache_query.hpp"
#include "adapters/sqlite/sqlite_cache_sql.hpp"
#include "messages/errors.hpp"

namespace storage {

using namespace sqlite_cache_sql;

namespace {

// Runs `sql`, retrying while the file is busy. Switching to WAL and creating
// the schema can return SQLITE_BUSY without calling the busy handler (SQLite
// avoids a lock-upgrade deadlock that way) when several connections open a
// new file at once. Every statement of the opening, retries and the busy
// handler's waits included, ends by `until`.
int exec_when_free(sqlite3* db, const char* sql,
                   std::chrono::steady_clock::time_point until,
                   int (*row)(void*, int, char**, char**) = nullptr,
                   void* out = nullptr) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    until - std::chrono::steady_clock::now())
                    .count();
    sqlite3_busy_timeout(db, static_cast<int>(std::max<std::int64_t>(left, 1)));
    int rc = sqlite3_exec(db, sql, row, out, nullptr);
    if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) ||
        std::chrono::steady_clock::now() >= until)
      return rc;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

// SQLite says only "unable to open database file"; the error names the
// file and, the most common cause, a directory that does not exist (SQLite
// creates the file, never its directory).
void sqlite_cache::raise_open_failure(int rc) {
  auto parent = std::filesystem::path(opts_.path).parent_path();
  std::error_code ec;
  if ((rc & 0xff) == SQLITE_CANTOPEN && !parent.empty() &&
      !std::filesystem::is_directory(parent, ec))
    throw store_error(errc::backend_unavailable,
                      "cannot open " + opts_.path + ": directory " +
                          parent.string() + " does not exist",
                      "open", store_);
  raise_sqlite(db_, rc, store_, "open");
}

sqlite_cache::sqlite_cache(std::string store, sqlite_cache_options opts,
                           open_deadline deadline)
    : store_(std::move(store)), opts_(std::move(opts)) {
  if (opts_.path.empty())
    throw store_error(errc::invalid_argument,
                      "no database path: expected sqlite:///path/cache.db",
                      "open", store_);
  if (opts_.ns.empty())
    throw store_error(errc::invalid_argument, "namespace must not be empty",
                      "open", store_);
  int rc = sqlite3_open_v2(
      opts_.path.c_str(), &db_,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  try {
    if (rc != SQLITE_OK) raise_open_failure(rc);
    // A file another connection holds is waited for busy_timeout_ms, and
    // not past the deadline of the request the adapter is made for.
    auto until = std::min(std::chrono::steady_clock::now() +
                              std::chrono::milliseconds(opts_.busy_timeout_ms),
                          deadline);
    char mode[16] = {};
    auto copy_mode = [](void* out, int, char** vals, char**) {
      if (vals[0]) std::snprintf(static_cast<char*>(out), 16, "%s", vals[0]);
      return 0;
    };
    rc = exec_when_free(db_, "PRAGMA journal_mode=WAL", until, copy_mode, mode);
    if (rc != SQLITE_OK) raise_sqlite(db_, rc, store_, "open");
    if (std::string(mode) != "wal")
      throw store_error(errc::backend_unavailable,
                        "cannot switch " + opts_.path +
                            " to WAL mode (journal mode is '" + mode + "')",
                        "open", store_);
    // NORMAL in WAL mode: an acknowledged write survives a process crash;
    // only a power loss may lose the last transactions.
    rc = exec_when_free(db_, "PRAGMA synchronous=NORMAL", until);
    if (rc == SQLITE_OK) rc = exec_when_free(db_, schema, until);
    if (rc != SQLITE_OK) raise_sqlite(db_, rc, store_, "open");
    // Until a request sets its own (set_deadline).
    sqlite3_busy_timeout(db_, static_cast<int>(opts_.busy_timeout_ms));
    stmts_.assign(s_count, nullptr);
    for (int i = 0; i < s_count; ++i) {
      rc = sqlite3_prepare_v3(db_, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT,
                              &stmts_[i], nullptr);
      if (rc != SQLITE_OK) raise_sqlite(db_, rc, store_, "open");
    }
  } catch (...) {
    close();
    throw;
  }
}

sqlite_cache::~sqlite_cache() {
  close();
}

void sqlite_cache::close() noexcept {
  for (auto* s : stmts_) sqlite3_finalize(s);
  stmts_.clear();
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

namespace {

sqlite_cache_options sqlite_options_of(const store_uri& uri) {
  uri.check_params({STORAGE_RUNTIME_PARAMS, "namespace", "busy_timeout_ms"});
  if (!uri.host().empty() && uri.host() != "localhost")
    throw store_error(errc::invalid_argument,
                      "sqlite URI names a host '" + uri.host() +
                          "'; expected sqlite:///absolute/path/cache.db",
                      "open", uri.redacted());
  sqlite_cache_options opts;
  opts.path = uri.path();
  opts.ns = uri.param_or("namespace", "default");
  opts.busy_timeout_ms = uri.int_param("busy_timeout_ms", 5000, 1, 600000);
  return opts;
}

}  // namespace

void check_sqlite_uri(const store_uri& uri) {
  sqlite_options_of(uri);
}

std::unique_ptr<cache_backend> make_sqlite_cache(const store_uri& uri,
                                                 std::uint32_t, std::uint32_t,
                                                 open_deadline deadline) {
  return std::make_unique<sqlite_cache>(uri.redacted(), sqlite_options_of(uri),
                                        deadline);
}

}  // namespace storage
