#include "adapters/sqlite/sqlite_cache.hpp"
#include <algorithm>

#include <sqlite3.h>

#include <chrono>

#include "adapters/cache_incr.hpp"
#include "adapters/sqlite/sqlite_cache_query.hpp"
#include "adapters/sqlite/sqlite_cache_sql.hpp"
#include "messages/errors.hpp"
#include "messages/limits.hpp"

namespace storage {

using namespace sqlite_cache_sql;

namespace {

constexpr std::uint32_t sweep_every = 128;
constexpr std::int64_t sweep_batch = 256;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

cache_capabilities sqlite_cache::capabilities() const {
  return {};
}

void sqlite_cache::set_deadline(
    std::chrono::steady_clock::time_point deadline) {
  if (!db_) return;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
  auto ms = std::clamp<std::int64_t>(left, 1, opts_.busy_timeout_ms);
  if (ms != busy_ms_)
    sqlite3_busy_timeout(db_, static_cast<int>(busy_ms_ = ms));
}

void sqlite_cache::check_key(const std::string& key, const char* op) const {
  if (key.empty())
    throw store_error(errc::invalid_argument, "empty key", op, store_);
}

std::optional<std::int64_t> sqlite_cache::expiry(ttl_ms ttl, std::int64_t now,
                                                 const char* op) const {
  if (!ttl) return std::nullopt;
  if (*ttl <= 0)
    throw store_error(errc::invalid_argument,
                      "ttl must be a positive number of milliseconds, got " +
                          std::to_string(*ttl),
                      op, store_);
  // The ceiling the contract's check enforces, for callers that skip it.
  return now + std::min(*ttl, max_ttl_ms);
}

// At most max_ttl_ms: a file written before that limit may hold an expiry
// far beyond it, and a TTL read here may be written elsewhere (migration).
std::int64_t sqlite_cache::remaining_ms(std::int64_t at, std::int64_t now) {
  return std::min(at - now, max_ttl_ms);
}

void sqlite_cache::exec(int id, const char* op) {
  sqlite_query q(db_, stmts_[id], store_, op);
  q.next();
}

void sqlite_cache::begin_write(const char* op) {
  exec(s_begin_write, op);
}

void sqlite_cache::commit(const char* op) {
  exec(s_commit, op);
}

void sqlite_cache::rollback() noexcept {
  if (sqlite3_get_autocommit(db_)) return;
  sqlite3_step(stmts_[s_rollback]);
  sqlite3_reset(stmts_[s_rollback]);
}

template <class F>
auto sqlite_cache::in_write_txn(const char* op, F&& body) {
  begin_write(op);
  try {
    auto result = body();
    commit(op);
    return result;
  } catch (...) {
    rollback();
    throw;
  }
}

void sqlite_cache::after_write(std::int64_t now) noexcept {
  if (++writes_since_sweep_ < sweep_every) return;
  writes_since_sweep_ = 0;
  // Best effort: expired rows are invisible anyway, so a busy database just
  // postpones the sweep to a later write.
  auto* s = stmts_[s_sweep];
  sqlite3_bind_text(s, 1, opts_.ns.data(), static_cast<int>(opts_.ns.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 3, now);
  sqlite3_bind_int64(s, 4, sweep_batch);
  sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

void sqlite_cache::put(const std::string& key, const std::string& value,
                       ttl_ms ttl, std::int64_t now, const char* op) {
  sqlite_query q(db_, stmts_[s_set], store_, op);
  q.text(1, opts_.ns).text(2, key).blob(4, value).opt(5, expiry(ttl, now, op));
  q.next();
}

std::optional<std::string> sqlite_cache::get(const std::string& key) {
  check_key(key, "get");
  std::lock_guard<std::mutex> guard(mutex_);
  sqlite_query q(db_, stmts_[s_get], store_, "get");
  q.text(1, opts_.ns).text(2, key).num(3, now_ms());
  if (!q.next()) return std::nullopt;
  return q.column_blob(0);
}

void sqlite_cache::set(const std::string& key, const std::string& value,
                       ttl_ms ttl) {
  check_key(key, "set");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = now_ms();
  put(key, value, ttl, now, "set");
  after_write(now);
}

bool sqlite_cache::add(const std::string& key, const std::string& value,
                       ttl_ms ttl) {
  check_key(key, "add");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = now_ms();
  auto at = expiry(ttl, now, "add");
  sqlite_query q(db_, stmts_[s_add], store_, "add");
  q.text(1, opts_.ns).text(2, key).num(3, now).blob(4, value).opt(5, at);
  q.next();
  bool added = q.changes() > 0;
  if (added) after_write(now);
  return added;
}

std::uint64_t sqlite_cache::del(const std::vector<std::string>& keys) {
  for (auto& k : keys) check_key(k, "del");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = now_ms();
  return in_write_txn("del", [&] {
    std::uint64_t removed = 0;
    for (auto& k : keys) {
      sqlite_query q(db_, stmts_[s_del], store_, "del");
      q.text(1, opts_.ns).text(2, k).num(3, now);
      q.next();
      removed += static_cast<std::uint64_t>(q.changes());
    }
    return removed;
  });
}

bool sqlite_cache::exists(const std::string& key) {
  return ttl(key).exists;
}

std::vector<std::optional<std::string>> sqlite_cache::mget(
    const std::vector<std::string>& keys) {
  for (auto& k : keys) check_key(k, "mget");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = now_ms();
  std::vector<std::optional<std::string>> out;
  out.reserve(keys.size());
  // One read transaction: every answer comes from the same snapshot.
  exec(s_begin_read, "mget");
  try {
    for (auto& k : keys) {
      sqlite_query q(db_, stmts_[s_get], store_, "mget");
      q.text(1, opts_.ns).text(2, k).num(3, now);
      if (q.next())
        out.emplace_back(q.column_blob(0));
      else
        out.emplace_back();
    }
    commit("mget");
  } catch (...) {
    rollback();
    throw;
  }
  return out;
}

void sqlite_cache::mset(const std::vector<cache_entry>& entries) {
  auto now = now_ms();
  // Validated whole first so a bad entry leaves nothing written.
  for (auto& e : entries) {
    check_key(e.key, "mset");
    expiry(e.ttl, now, "mset");
  }
  std::lock_guard<std::mutex> guard(mutex_);
  in_write_txn("mset", [&] {
    for (auto& e : entries) put(e.key, e.value, e.ttl, now, "mset");
    return 0;
  });
  after_write(now);
}

std::int64_t sqlite_cache::incr(const std::string& key, std::int64_t by) {
  check_key(key, "incr");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = now_ms();
  auto result = in_write_txn("incr", [&] {
    std::optional<std::string> stored;
    {
      sqlite_query q(db_, stmts_[s_get], store_, "incr");
      q.text(1, opts_.ns).text(2, key).num(3, now);
      if (q.next()) stored = q.column_blob(0);
    }
    std::int64_t n = 0;
    try {
      n = apply_cache_incr(stored, by, key);
    } catch (const store_error& e) {
      throw e.with_context("incr", store_);
    }
    if (stored) {
      // Only the value changes: the key keeps its TTL.
      sqlite_query q(db_, stmts_[s_update_value], store_, "incr");
      q.text(1, opts_.ns).text(2, key).blob(4, std::to_string(n));
      q.next();
    } else {
      put(key, std::to_string(n), std::nullopt, now, "incr");
    }
    return n;
  });
  after_write(now);
  return result;
}

bool sqlite_cache::expire(const std::string& key, std::int64_t ttl) {
  check_key(key, "expire");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = now_ms();
  auto at = expiry(ttl, now, "expire");
  sqlite_query q(db_, stmts_[s_expire], store_, "expire");
  q.text(1, opts_.ns).text(2, key).num(3, now).opt(5, at);
  q.next();
  return q.changes() > 0;
}

ttl_info sqlite_cache::ttl(const std::string& key) {
  check_key(key, "ttl");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = now_ms();
  sqlite_query q(db_, stmts_[s_expiry_of], store_, "ttl");
  q.text(1, opts_.ns).text(2, key).num(3, now);
  ttl_info info;
  if (!q.next()) return info;
  info.exists = true;
  if (auto at = q.column_opt(0)) info.ttl = remaining_ms(*at, now);
  return info;
}

std::uint64_t sqlite_cache::clear() {
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = now_ms();
  return in_write_txn("clear", [&] {
    std::uint64_t live = 0;
    {
      sqlite_query q(db_, stmts_[s_clear_live], store_, "clear");
      q.text(1, opts_.ns).num(3, now);
      q.next();
      live = static_cast<std::uint64_t>(q.changes());
    }
    sqlite_query q(db_, stmts_[s_clear_all], store_, "clear");
    q.text(1, opts_.ns);
    q.next();
    return live;
  });
}

cache_scan_page sqlite_cache::scan(const std::string& cursor,
                                   std::uint32_t limit) {
  if (limit == 0)
    throw store_error(errc::invalid_argument, "scan limit must be positive",
                      "scan", store_);
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = now_ms();
  sqlite_query q(db_, stmts_[s_scan], store_, "scan");
  // One row past the page tells whether another page follows.
  q.text(1, opts_.ns).text(2, cursor).num(3, now).num(4, limit + 1LL);
  cache_scan_page page;
  bool more = false;
  while (q.next()) {
    if (page.entries.size() == limit) {
      more = true;
      break;
    }
    cache_entry e{q.column_text(0), q.column_blob(1), std::nullopt};
    if (auto at = q.column_opt(2)) e.ttl = remaining_ms(*at, now);
    page.entries.push_back(std::move(e));
  }
  if (more) page.next_cursor = page.entries.back().key;
  return page;
}

}  // namespace storage
