#include "adapters/redis/redis_cache_conn.hpp"

#include <algorithm>
#include <cstdlib>

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include "messages/errors.hpp"

namespace storage {

namespace {

timeval to_timeval(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

bool starts_with(const std::string& s, const char* prefix) {
  return s.compare(0, std::strlen(prefix), prefix) == 0;
}

// hiredis writes with write(2): a server that went away would raise SIGPIPE
// and kill the whole process. A library must not change the process's
// signal disposition, so, as libpq does, SIGPIPE is blocked on this thread
// during the exchange and a SIGPIPE it caused is consumed before unblocking.
class sigpipe_guard {
 public:
  sigpipe_guard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~sigpipe_guard() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        timespec zero{0, 0};
        sigtimedwait(&pipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

std::int64_t system_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

errc code_of(const std::string& text) {
  // The write script's refusal (redis_cache_batch.cpp).
  if (starts_with(text, "TIMEOUT")) return errc::timeout;
  if (starts_with(text, "WRONGTYPE") ||
      text.find("not an integer") != std::string::npos)
    return errc::type_mismatch;
  if (text.find("overflow") != std::string::npos ||
      text.find("invalid cursor") != std::string::npos ||
      starts_with(text, "NOAUTH") || starts_with(text, "WRONGPASS") ||
      starts_with(text, "NOPERM"))
    return errc::invalid_argument;
  // The server is there but cannot serve now: the same as being away.
  if (starts_with(text, "LOADING") || starts_with(text, "BUSY") ||
      starts_with(text, "MASTERDOWN") || starts_with(text, "READONLY") ||
      starts_with(text, "TRYAGAIN") || starts_with(text, "CLUSTERDOWN"))
    return errc::backend_unavailable;
  return errc::internal;
}

}  // namespace

void redis_reply_free::operator()(redisReply* r) const {
  if (r) freeReplyObject(r);
}

redis_connection::redis_connection(redis_options opts)
    : opts_(std::move(opts)),
      endpoint_(opts_.host + ":" + std::to_string(opts_.port)) {}

redis_connection::~redis_connection() {
  drop();
}

void redis_connection::set_deadline(
    std::chrono::steady_clock::time_point deadline) {
  deadline_ = deadline;
  if (!ctx_) return;  // ensure() applies it to the next connection
  auto ms = ms_left(opts_.command_timeout_ms);
  // Two setsockopt calls per change: skip changes too small to matter.
  if (std::abs(ms - timeout_set_ms_) <= std::max<std::int64_t>(5, ms / 10))
    return;
  timeout_set_ms_ = ms;
  if (redisSetTimeout(ctx_, to_timeval(static_cast<int>(ms))) != REDIS_OK)
    io_failure(errno, "request");
}

std::int64_t redis_connection::ms_left(std::int64_t cap) const {
  if (deadline_ == std::chrono::steady_clock::time_point::max()) return cap;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline_ - std::chrono::steady_clock::now())
                  .count();
  return std::clamp<std::int64_t>(left, 1, cap);
}

void redis_connection::drop_if_closed() {
  if (!ctx_ || std::chrono::steady_clock::now() - last_used_ < idle_check_after)
    return;
  // Nothing is ever due on an idle connection: end of file, an error or
  // stray bytes all mean it cannot be used, while EAGAIN means it is fine.
  char byte;
  auto n = ::recv(ctx_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  drop();
}

void redis_connection::drop() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

void redis_connection::io_failure(int saved_errno, const char* op) {
  std::string why = ctx_ && ctx_->errstr[0] ? ctx_->errstr : "connection lost";
  bool timed_out = ctx_ && ctx_->err == REDIS_ERR_IO &&
                   (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK);
  // After a failed exchange the stream is out of step: only a new
  // connection can be trusted.
  drop();
  if (timed_out)
    throw store_error(errc::timeout,
                      "redis at " + endpoint_ + " did not answer within " +
                          std::to_string(timeout_set_ms_) + " ms",
                      op, opts_.store);
  throw store_error(errc::backend_unavailable,
                    "redis at " + endpoint_ + " unavailable: " + why, op,
                    opts_.store);
}

void redis_connection::ensure(const char* op) {
  drop_if_closed();
  if (ctx_) return;
  // A request whose deadline has passed (it waited behind one that hung)
  // does not start a connection either.
  if (deadline_ != std::chrono::steady_clock::time_point::max() &&
      std::chrono::steady_clock::now() >= deadline_)
    throw store_error(errc::timeout,
                      "the deadline passed before the connection to redis "
                      "at " +
                          endpoint_ + " was made",
                      op, opts_.store);
  redisContext* c = redisConnectWithTimeout(
      opts_.host.c_str(), opts_.port,
      to_timeval(static_cast<int>(ms_left(opts_.connect_timeout_ms))));
  if (!c || c->err) {
    std::string why = c ? c->errstr : "cannot allocate a connection";
    if (c) redisFree(c);
    throw store_error(errc::backend_unavailable,
                      "redis at " + endpoint_ + " unavailable: " + why, op,
                      opts_.store);
  }
  ctx_ = c;
  last_used_ = std::chrono::steady_clock::now();
  timeout_set_ms_ = ms_left(opts_.command_timeout_ms);
  if (redisSetTimeout(ctx_, to_timeval(static_cast<int>(timeout_set_ms_))) !=
      REDIS_OK)
    io_failure(errno, op);
  // Detects a peer that vanished without closing (host down, cable cut).
  redisEnableKeepAlive(ctx_);

  std::vector<std::vector<std::string>> setup;
  if (!opts_.password.empty()) {
    if (opts_.user.empty())
      setup.push_back({"AUTH", opts_.password});
    else
      setup.push_back({"AUTH", opts_.user, opts_.password});
  }
  if (opts_.db != 0) setup.push_back({"SELECT", std::to_string(opts_.db)});
  // Proves the server is a Redis that serves us (a missing password shows as
  // NOAUTH here), so the error comes at connection time, not on some later
  // command.
  setup.push_back({"PING"});
  // The server's clock, against which writes check their deadline.
  setup.push_back({"TIME"});
  auto sent = system_ms();
  auto replies = pipeline(setup, op);
  auto received = system_ms();
  // An error reply to a setup command ends the attempt: `code`, or the
  // one the reply's text names.
  auto refused = [&](const redisReply& r, std::optional<errc> code,
                     const std::string& what) {
    if (r.type != REDIS_REPLY_ERROR) return;
    std::string text(r.str, r.len);
    drop();
    throw store_error(code.value_or(code_of(text)),
                      "redis at " + endpoint_ + " " + what + ": " + text, op,
                      opts_.store);
  };
  std::size_t i = 0;
  if (!opts_.password.empty())
    refused(*replies[i++], errc::invalid_argument, "rejected the credentials");
  if (opts_.db != 0)
    refused(*replies[i++], errc::invalid_argument,
            "cannot select database " + std::to_string(opts_.db));
  refused(*replies[i], std::nullopt, "refused");
  // Without the server's clock no write could be refused past its deadline:
  // a user the ACL denies TIME is refused here, not served without it.
  auto& time = *replies[i + 1];
  refused(time, std::nullopt,
          "refused TIME, which writes need to check their deadline against "
          "the server's clock (grant it: +time)");
  if (time.type != REDIS_REPLY_ARRAY || time.elements != 2 ||
      time.element[0]->type != REDIS_REPLY_STRING ||
      time.element[1]->type != REDIS_REPLY_STRING) {
    drop();
    throw store_error(errc::internal,
                      "unexpected reply to TIME from redis at " + endpoint_, op,
                      opts_.store);
  }
  auto server = std::strtoll(time.element[0]->str, nullptr, 10) * 1000 +
                std::strtoll(time.element[1]->str, nullptr, 10) / 1000;
  server_offset_ms_ = server - (sent + received) / 2;
}

std::optional<std::int64_t> redis_connection::server_deadline_ms() const {
  if (!ctx_ || deadline_ == std::chrono::steady_clock::time_point::max())
    return std::nullopt;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline_ - std::chrono::steady_clock::now())
                  .count();
  return system_ms() + left + server_offset_ms_;
}

std::vector<redis_reply> redis_connection::pipeline(
    const std::vector<std::vector<std::string>>& commands, const char* op) {
  std::vector<redis_reply> replies;
  exchange(commands, op, replies);
  return replies;
}

void redis_connection::exchange(
    const std::vector<std::vector<std::string>>& commands, const char* op,
    std::vector<redis_reply>& replies) {
  if (commands.empty()) return;
  ensure(op);
  sigpipe_guard guard;
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (auto& cmd : commands) {
    argv.clear();
    lens.clear();
    for (auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(),
                               lens.data()) != REDIS_OK)
      io_failure(errno, op);
  }
  ++round_trips_;
  replies.reserve(replies.size() + commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* r = nullptr;
    errno = 0;
    if (redisGetReply(ctx_, &r) != REDIS_OK || !r) io_failure(errno, op);
    replies.emplace_back(static_cast<redisReply*>(r));
  }
  last_used_ = std::chrono::steady_clock::now();
}

redis_reply redis_connection::command(const std::vector<std::string>& args,
                                      const char* op) {
  auto replies = pipeline({args}, op);
  return std::move(replies.front());
}

void redis_connection::check(const redisReply& reply, const char* op) const {
  if (reply.type != REDIS_REPLY_ERROR) return;
  std::string text(reply.str, reply.len);
  // An error inside the write script ends in " script: <sha>, on ...".
  if (auto at = text.find(" script: "); at != std::string::npos)
    text.resize(at);
  throw store_error(code_of(text), "redis at " + endpoint_ + ": " + text, op,
                    opts_.store);
}

}  // namespace storage
