// One hiredis connection with timeouts, credentials and reconnection: the
// part of the Redis cache that knows about sockets. Private to the adapter.
#pragma once

#include <cstdint>
#include <memory>
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
  int command_timeout_ms = 5000;
  std::string store;  // the redacted URI, for error messages
};

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
  redis_reply command(const std::vector<std::string>& args, const char* op);

  // Throws the store_error that matches an error reply; returns otherwise.
  void check(const redisReply& reply, const char* op) const;

  // Connects (and authenticates, selects the database) unless connected.
  void ensure(const char* op);
  const std::string& endpoint() const { return endpoint_; }
  const std::string& store() const { return opts_.store; }

 private:
  void drop();
  [[noreturn]] void io_failure(int saved_errno, const char* op);

  redis_options opts_;
  std::string endpoint_;  // host:port, named in every error
  redisContext* ctx_ = nullptr;
};

}  // namespace storage
