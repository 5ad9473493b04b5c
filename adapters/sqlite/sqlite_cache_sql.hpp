// The schema and statements of the SQLite cache. Parameters are numbered the
// same way everywhere: ns ?1, key ?2, "now" (epoch ms) ?3, then per statement.
#pragma once

namespace storage::sqlite_cache_sql {

enum stmt_id : int {
  s_get,
  s_set,
  s_add,
  s_del,
  s_expiry_of,
  s_update_value,
  s_expire,
  s_clear_live,
  s_clear_all,
  s_scan,
  s_sweep,
  s_begin_read,
  s_begin_write,
  s_commit,
  s_rollback,
  s_count,
};

#define LIVE "(expires_at IS NULL OR expires_at > ?3)"

inline constexpr const char* sql_text[s_count] = {
    "SELECT value FROM cache WHERE ns=?1 AND key=?2 AND " LIVE,
    "INSERT INTO cache(ns,key,value,expires_at) VALUES(?1,?2,?4,?5) "
    "ON CONFLICT(ns,key) DO UPDATE SET value=excluded.value, "
    "expires_at=excluded.expires_at",
    // Replaces an existing row only if it has expired: changes() is 0 when a
    // live key blocked the add.
    "INSERT INTO cache(ns,key,value,expires_at) VALUES(?1,?2,?4,?5) "
    "ON CONFLICT(ns,key) DO UPDATE SET value=excluded.value, "
    "expires_at=excluded.expires_at "
    "WHERE cache.expires_at IS NOT NULL AND cache.expires_at <= ?3",
    "DELETE FROM cache WHERE ns=?1 AND key=?2 AND " LIVE,
    "SELECT expires_at FROM cache WHERE ns=?1 AND key=?2 AND " LIVE,
    "UPDATE cache SET value=?4 WHERE ns=?1 AND key=?2",
    "UPDATE cache SET expires_at=?5 WHERE ns=?1 AND key=?2 AND " LIVE,
    "DELETE FROM cache WHERE ns=?1 AND " LIVE,
    "DELETE FROM cache WHERE ns=?1",
    "SELECT key, value, expires_at FROM cache "
    "WHERE ns=?1 AND key>?2 AND " LIVE " ORDER BY key LIMIT ?4",
    // Bounded, so a write never pays for a large backlog of expired rows.
    "DELETE FROM cache WHERE rowid IN (SELECT rowid FROM cache "
    "WHERE ns=?1 AND expires_at <= ?3 LIMIT ?4)",
    "BEGIN",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
};

#undef LIVE

inline constexpr const char* schema =
    "CREATE TABLE IF NOT EXISTS cache("
    "ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, "
    "expires_at INTEGER, PRIMARY KEY(ns, key));"
    "CREATE INDEX IF NOT EXISTS cache_ns_expiry ON cache(ns, expires_at);";

}  // namespace storage::sqlite_cache_sql
