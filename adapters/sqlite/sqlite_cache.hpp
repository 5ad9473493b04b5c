// sqlite:///path/cache.db?namespace=NS — a cache in one SQLite file shared
// through WAL by any number of connections and processes. Expiry is wall-clock
// epoch milliseconds, so TTLs hold across restarts and processes.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "adapters/cache_backend.hpp"
#include "adapters/open_deadline.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace storage {

struct sqlite_cache_options {
  std::string path;
  std::string ns = "default";
  // How long a statement waits for another connection's write lock.
  std::int64_t busy_timeout_ms = 5000;
};

class sqlite_cache final : public cache_backend {
 public:
  sqlite_cache(std::string store, sqlite_cache_options opts,
               open_deadline deadline = no_deadline);
  ~sqlite_cache() override;
  sqlite_cache(const sqlite_cache&) = delete;
  sqlite_cache& operator=(const sqlite_cache&) = delete;

  cache_capabilities capabilities() const override;
  // The busy timeout: until the deadline, at most busy_timeout_ms.
  void set_deadline(std::chrono::steady_clock::time_point deadline) override;
  std::optional<std::string> get(const std::string& key) override;
  void set(const std::string& key, const std::string& value,
           ttl_ms ttl) override;
  bool add(const std::string& key, const std::string& value,
           ttl_ms ttl) override;
  std::uint64_t del(const std::vector<std::string>& keys) override;
  bool exists(const std::string& key) override;
  std::vector<std::optional<std::string>> mget(
      const std::vector<std::string>& keys) override;
  void mset(const std::vector<cache_entry>& entries) override;
  std::int64_t incr(const std::string& key, std::int64_t by) override;
  bool expire(const std::string& key, std::int64_t ttl) override;
  ttl_info ttl(const std::string& key) override;
  std::uint64_t clear() override;
  cache_scan_page scan(const std::string& cursor, std::uint32_t limit) override;

 private:
  void exec(int id, const char* op);
  void begin_write(const char* op);
  void commit(const char* op);
  void rollback() noexcept;
  void after_write(std::int64_t now) noexcept;
  // What is left of an expiry `at`, at most max_ttl_ms.
  static std::int64_t remaining_ms(std::int64_t at, std::int64_t now);
  std::optional<std::int64_t> expiry(ttl_ms ttl, std::int64_t now,
                                     const char* op) const;
  void check_key(const std::string& key, const char* op) const;
  void put(const std::string& key, const std::string& value, ttl_ms ttl,
           std::int64_t now, const char* op);
  template <class F>
  auto in_write_txn(const char* op, F&& body);
  void close() noexcept;
  [[noreturn]] void raise_open_failure(int rc);

  std::string store_;
  sqlite_cache_options opts_;
  sqlite3* db_ = nullptr;
  // Prepared once, kept for the connection's life; indexed by stmt_id.
  std::vector<sqlite3_stmt*> stmts_;
  std::uint32_t writes_since_sweep_ = 0;
  std::int64_t busy_ms_ = -1;  // the busy timeout last set
  std::mutex mutex_;
};

}  // namespace storage
