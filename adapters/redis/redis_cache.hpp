// redis://[user][:password@]host[:port][/db]?namespace=NS[&timeout_ms=MS]
// [&pipeline=0|1] — a cache in a Redis server over one hiredis connection.
// With pipeline=1 (the default) a pool worker sends the requests waiting in
// its mailbox as one pipeline (execute()); 0 sends one request at a time.
//
// Every key is stored as "<encoded NS>:<key>". The namespace is encoded with
// '%' -> "%25" and ':' -> "%3A", so the encoded name never holds ':' and no
// namespace's prefix can start another's: "app" owns "app:*", while "app:x"
// owns "app%3Ax:*" and "app2" owns "app2:*". Any non-empty namespace is
// accepted, and plain names read as they are in redis-cli.
//
// The connection is opened on construction (2 s connect timeout) and
// reopened by the first call after it broke; each command waits at most
// timeout_ms (default 10000, the store's deadline). A connection idle for
// 20 ms or more is checked before use (one non-blocking peek), so one the
// server closed meanwhile (it restarted) is replaced before a request goes
// out on it instead of failing that request. A server that cannot be
// reached is backend_unavailable naming host:port; rejected credentials and a
// database that does not exist are invalid_argument.
//
// Writes under a deadline (every request through the runtime has one) run
// inside a Lua script (EVAL) that first compares the server's TIME with the
// deadline, one call per run of consecutive writes in a pipeline (run()).
// So the Redis user needs EVAL and TIME: a user the ACL denies TIME cannot
// connect, one denied EVAL cannot write (both NOPERM, invalid_argument).
#pragma once

#include <string>

#include "adapters/cache_backend.hpp"
#include "adapters/open_deadline.hpp"
#include "adapters/redis/redis_cache_conn.hpp"
#include "messages/limits.hpp"

namespace storage {

class redis_cache final : public cache_backend {
 public:
  redis_cache(redis_options opts, const std::string& ns,
              open_deadline deadline = no_deadline);

  cache_capabilities capabilities() const override;
  // Socket timeouts: until the deadline, at most timeout_ms.
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
  // The cursor is Redis's SCAN cursor, and a SCAN step is never split, so a
  // page may hold more than `limit` entries. As with Redis SCAN, a key
  // present for the whole scan is returned at least once, even while other
  // keys change; a key may come twice if the server resized its table
  // meanwhile, and a page may be empty before the end.
  cache_scan_page scan(const std::string& cursor, std::uint32_t limit) override;
  // Every op's commands go out in one write and all replies are read back:
  // one round trip for the whole batch. An error reply fails only its op; a
  // connection that breaks fails the ops whose replies had not all arrived
  // (backend_unavailable, or timeout), and the next call reconnects.
  std::vector<cache_op_result> execute(
      const std::vector<cache_op>& ops) override;

  // The Redis key prefix of this namespace, e.g. "app:".
  const std::string& prefix() const { return prefix_; }
  // Exchanges with the server so far (see redis_connection::round_trips).
  std::uint64_t round_trips() const { return conn_.round_trips(); }

  using op_commands = std::vector<std::vector<std::string>>;

 private:
  std::string full(const std::string& key, const char* op) const;
  std::vector<std::string> set_command(const std::string& key,
                                       const std::string& value, ttl_ms ttl,
                                       const char* op) const;
  // The commands that carry out `op` (none for an empty del, mget or mset);
  // throws store_error for an op the server must not see (empty key, bad
  // ttl). In redis_cache_batch.cpp, as are run and run_one; their
  // replies are read by redis_cache_reply.hpp.
  op_commands commands_for(const cache_op& op) const;
  // Runs each op's commands (each[i], from commands_for; none for an op
  // that already failed in out[i]) in one exchange and reads each op's
  // answer into out[i]. Writes under a deadline go out inside the write
  // script, each run of consecutive writes in one, which applies them only
  // while the server's clock is before the deadline: a write that waited in
  // a frozen server's socket past its deadline is refused, not applied
  // after its caller got timeout. Without a deadline, an mset goes inside
  // MULTI/EXEC.
  void run(const cache_op* ops, std::size_t n, std::vector<op_commands>& each,
           cache_op_result* out, const char* name);
  // One op in one exchange; throws as the single-op methods do.
  cache_op_result run_one(const cache_op& op);

  // One SCAN step: returns the next cursor and appends this page's keys.
  std::string scan_step(const std::string& cursor, std::uint32_t count,
                        std::vector<std::string>& keys, const char* op);
  [[noreturn]] void unexpected(const char* op) const;

  redis_connection conn_;
  bool pipelining_;
  std::string prefix_;
  std::string match_;  // prefix_ glob-escaped, then '*'
};

}  // namespace storage
