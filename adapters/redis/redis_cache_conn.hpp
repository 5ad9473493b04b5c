// One hiredis connection with timeouts, credentials and reconnection: the
// part of the Redis cache that knows about sockets. Private to the adapter.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct redisContext;
struct redisReply;

namespace storage {

struct redis_reply_free {
  void operator()(redisReply* r) const;
};
using redis_reply = std::unique_ptr<redisReply, redis_reply_free>;

struct redis_options {
  std::string host;
  std::uint16_t port = 6379;
  std::string user;      // empty: the default user
  std::string password;  // empty: no AUTH
  std::int64_t db = 0;
  int connect_timeout_ms = 2000;
  int command_timeout_ms = 10000;
  std::string store;  // the redacted URI, for error messages
  // Whether pool workers may batch requests into one pipeline (URI
  // pipeline=0 turns it off, e.g. to measure what it gains).
  bool pipelining = true;
};

class store_uri;

// The connection options a redis:// URI names (host, port, credentials,
// database, timeouts); throws invalid_argument for a bad one.
redis_options redis_options_of(const store_uri& uri);

class redis_connection {
 public:
  explicit redis_connection(redis_options opts);
  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  // Sends every command in one write and reads their replies in order,
  // connecting first if there is no connection. A socket error or timeout
  // drops the connection (the next call reconnects) and throws
  // backend_unavailable or timeout. Error replies are returned as they are;
  // `check` turns them into store_error.
  std::vector<redis_reply> pipeline(
      const std::vector<std::vector<std::string>>& commands, const char* op);
  // The same, but every reply that arrived before a failure is left in
  // `replies` (appended), so the caller can still answer the commands that
  // were carried out before the connection broke.
  void exchange(const std::vector<std::vector<std::string>>& commands,
                const char* op, std::vector<redis_reply>& replies);
  redis_reply command(const std::vector<std::string>& args, const char* op);

  // Throws the store_error that matches an error reply; returns otherwise.
  void check(const redisReply& reply, const char* op) const;

  // Connects (and authenticates, selects the database) unless connected,
  // within the deadline (set_deadline); a connection idle for a while is
  // checked first, and replaced if the server closed it meanwhile (it
  // restarted, say), so the request that finds it goes out on a new one.
  void ensure(const char* op);
  const std::string& endpoint() const { return endpoint_; }
  // Later exchanges, and a connection made for them, give up at `deadline`
  // (at most command_timeout_ms, connect_timeout_ms to connect).
  void set_deadline(std::chrono::steady_clock::time_point deadline);
  const std::string& store() const { return opts_.store; }
  // The deadline in the server's clock (ms since the epoch, from the
  // offset measured when connecting), or nullopt without a deadline or a
  // connection.
  std::optional<std::int64_t> server_deadline_ms() const;
  // Exchanges with the server so far (one write of commands, then reading
  // their replies), connection setup included: what pipelining saves.
  std::uint64_t round_trips() const { return round_trips_; }

 private:
  void drop();
  [[noreturn]] void io_failure(int saved_errno, const char* op);
  // Milliseconds until the deadline: at least 1, at most `cap`.
  std::int64_t ms_left(std::int64_t cap) const;
  // Drops a connection idle for idle_check_after that the server closed.
  void drop_if_closed();

  // Busy connections are not checked: a peek costs a system call.
  static constexpr auto idle_check_after = std::chrono::milliseconds(20);

  redis_options opts_;
  std::string endpoint_;  // host:port, named in every error
  redisContext* ctx_ = nullptr;
  std::uint64_t round_trips_ = 0;
  std::int64_t timeout_set_ms_ = -1;  // the socket timeout in force
  std::chrono::steady_clock::time_point deadline_ =
      std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point last_used_{};  // the last reply
  // The server's clock minus ours, in ms (TIME when connecting; off by at
  // most the round trip).
  std::int64_t server_offset_ms_ = 0;
};

}  // namespace storage
