// redis://[user][:password@]host[:port][/db]?namespace=NS[&timeout_ms=MS] —
// a cache in a Redis server over one hiredis connection.
//
// Every key is stored as "<encoded NS>:<key>". The namespace is encoded with
// '%' -> "%25" and ':' -> "%3A", so the encoded name never holds ':' and no
// namespace's prefix can start another's: "app" owns "app:*", while "app:x"
// owns "app%3Ax:*" and "app2" owns "app2:*". Any non-empty namespace is
// accepted, and plain names read as they are in redis-cli.
//
// The connection is opened on construction (2 s connect timeout) and
// reopened by the first call after it broke; each command waits at most
// timeout_ms (default 5000). A server that cannot be reached is
// backend_unavailable naming host:port; rejected credentials and a database
// that does not exist are invalid_argument.
#pragma once

#include <string>

#include "adapters/cache_backend.hpp"
#include "adapters/redis_cache_conn.hpp"

namespace storage {

class redis_cache final : public cache_backend {
 public:
  redis_cache(redis_options opts, const std::string& ns);

  cache_capabilities capabilities() const override;
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
  // The cursor is Redis's SCAN cursor, optionally followed by ':' and the
  // last key returned from that SCAN page (a page larger than `limit` is
  // handed out in key order over several calls). As with Redis SCAN, a key
  // present for the whole scan is returned at least once; a key may come
  // twice if the server resized its table meanwhile, and a page may be
  // empty before the end.
  cache_scan_page scan(const std::string& cursor, std::uint32_t limit) override;

  // The Redis key prefix of this namespace, e.g. "app:".
  const std::string& prefix() const { return prefix_; }

 private:
  std::string full(const std::string& key, const char* op) const;
  std::vector<std::string> set_command(const std::string& key,
                                       const std::string& value, ttl_ms ttl,
                                       const char* op) const;
  // One SCAN step: returns the next cursor and appends this page's keys.
  std::string scan_step(const std::string& cursor, std::uint32_t count,
                        std::vector<std::string>& keys, const char* op);
  [[noreturn]] void unexpected(const char* op) const;

  redis_connection conn_;
  std::string prefix_;
  std::string match_;  // prefix_ glob-escaped, then '*'
};

}  // namespace storage
