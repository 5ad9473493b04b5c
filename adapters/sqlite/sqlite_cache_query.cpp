#include "adapters/sqlite/sqlite_cache_query.hpp"

#include "messages/errors.hpp"

namespace storage {

void raise_sqlite(sqlite3* db, int rc, const std::string& store,
                  const char* op) {
  std::string what = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  errc code = errc::internal;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = errc::timeout;
      what +=
          " (another connection held the lock past busy_timeout_ms or the "
          "request's deadline)";
      break;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_NOLFS:
      code = errc::backend_unavailable;
      break;
    case SQLITE_TOOBIG:
      code = errc::invalid_argument;
      break;
    default:
      break;
  }
  throw store_error(code, "sqlite: " + what, op, store);
}

}  // namespace storage
