#include "adapters/redis/redis_cache.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <utility>

#include "adapters/factories.hpp"
#include "adapters/redis/redis_cache_reply.hpp"
#include "messages/errors.hpp"

namespace storage {

namespace {

// SCAN COUNT per step when clearing; a scan page asks for its limit.
constexpr std::uint32_t clear_count = 1000;
constexpr std::uint32_t max_scan_count = 1000;
// Bounds one scan call when the namespace is sparse in a large database:
// the caller gets an empty page and a cursor instead of a long stall.
constexpr int max_scan_rounds = 16;

std::string encode_namespace(const std::string& ns) {
  std::string out;
  for (char c : ns) {
    if (c == '%')
      out += "%25";
    else if (c == ':')
      out += "%3A";
    else
      out += c;
  }
  return out;
}

std::string glob_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

redis_cache::redis_cache(redis_options opts, const std::string& ns,
                         open_deadline deadline)
    : conn_(opts),
      pipelining_(opts.pipelining),
      prefix_(encode_namespace(ns) + ":"),
      match_(glob_escape(prefix_) + "*") {
  conn_.set_deadline(deadline);  // none: the options' own limits
  conn_.ensure("open");
}

cache_capabilities redis_cache::capabilities() const {
  cache_capabilities caps;
  caps.batching = pipelining_;
  return caps;
}

void redis_cache::set_deadline(std::chrono::steady_clock::time_point deadline) {
  conn_.set_deadline(deadline);
}

void redis_cache::unexpected(const char* op) const {
  redis_unexpected(conn_, op);
}

std::string redis_cache::full(const std::string& key, const char* op) const {
  if (key.empty())
    throw store_error(errc::invalid_argument, "empty key", op, conn_.store());
  return prefix_ + key;
}

std::vector<std::string> redis_cache::set_command(const std::string& key,
                                                  const std::string& value,
                                                  ttl_ms ttl,
                                                  const char* op) const {
  std::vector<std::string> cmd{"SET", full(key, op), value};
  if (ttl) {
    if (*ttl <= 0)
      throw store_error(errc::invalid_argument,
                        "ttl must be a positive number of milliseconds, got " +
                            std::to_string(*ttl),
                        op, conn_.store());
    cmd.push_back("PX");
    cmd.push_back(std::to_string(std::min(*ttl, max_ttl_ms)));
  }
  return cmd;
}

// Each single op is a batch of one (redis_cache_batch.cpp): the same
// commands and the same reading of replies either way.

std::optional<std::string> redis_cache::get(const std::string& key) {
  cache_op op;
  op.key = key;
  return run_one(op).value;
}

void redis_cache::set(const std::string& key, const std::string& value,
                      ttl_ms ttl) {
  cache_op op;
  op.kind = cache_op_kind::set;
  op.key = key;
  op.value = value;
  op.ttl = ttl;
  run_one(op);
}

bool redis_cache::add(const std::string& key, const std::string& value,
                      ttl_ms ttl) {
  cache_op op;
  op.kind = cache_op_kind::add;
  op.key = key;
  op.value = value;
  op.ttl = ttl;
  return run_one(op).flag;
}

std::uint64_t redis_cache::del(const std::vector<std::string>& keys) {
  cache_op op;
  op.kind = cache_op_kind::del;
  op.keys = keys;
  return run_one(op).count;
}

bool redis_cache::exists(const std::string& key) {
  cache_op op;
  op.kind = cache_op_kind::exists;
  op.key = key;
  return run_one(op).flag;
}

std::vector<std::optional<std::string>> redis_cache::mget(
    const std::vector<std::string>& keys) {
  cache_op op;
  op.kind = cache_op_kind::mget;
  op.keys = keys;
  return run_one(op).values;
}

void redis_cache::mset(const std::vector<cache_entry>& entries) {
  cache_op op;
  op.kind = cache_op_kind::mset;
  op.entries = entries;
  run_one(op);
}

std::int64_t redis_cache::incr(const std::string& key, std::int64_t by) {
  cache_op op;
  op.kind = cache_op_kind::incr;
  op.key = key;
  op.number = by;
  return run_one(op).number;
}

bool redis_cache::expire(const std::string& key, std::int64_t ttl) {
  cache_op op;
  op.kind = cache_op_kind::expire;
  op.key = key;
  op.number = ttl;
  return run_one(op).flag;
}

ttl_info redis_cache::ttl(const std::string& key) {
  cache_op op;
  op.kind = cache_op_kind::ttl;
  op.key = key;
  return run_one(op).ttl;
}

std::string redis_cache::scan_step(const std::string& cursor,
                                   std::uint32_t count,
                                   std::vector<std::string>& keys,
                                   const char* op) {
  auto r = conn_.command(
      {"SCAN", cursor, "MATCH", match_, "COUNT", std::to_string(count)}, op);
  return redis_read_scan(conn_, *r, prefix_, keys, op);
}

std::uint64_t redis_cache::clear() {
  // Never FLUSHDB: other namespaces and other users share the database. The
  // walk goes on to cursor 0 because a page may be empty mid-way.
  std::uint64_t removed = 0;
  std::string cursor = "0";
  do {
    std::vector<std::string> keys;
    cursor = scan_step(cursor, clear_count, keys, "clear");
    if (keys.empty()) continue;
    std::vector<std::string> cmd{"UNLINK"};
    cmd.insert(cmd.end(), std::make_move_iterator(keys.begin()),
               std::make_move_iterator(keys.end()));
    // Guarded as a del is: no step runs after the deadline.
    cache_op del;
    del.kind = cache_op_kind::del;
    std::vector<op_commands> each{{std::move(cmd)}};
    cache_op_result step;
    run(&del, 1, each, &step, "clear");
    if (step.error)
      throw store_error(step.error->code(), step.error->message(), "clear",
                        conn_.store());
    removed += step.count;
  } while (cursor != "0");
  return removed;
}

cache_scan_page redis_cache::scan(const std::string& cursor,
                                  std::uint32_t limit) {
  if (limit == 0)
    throw store_error(errc::invalid_argument, "scan limit must be positive",
                      "scan", conn_.store());
  // The cursor is Redis's own. A SCAN step is never split: resuming inside
  // one by key order would lose keys whenever the keyspace changes between
  // calls, so a page may exceed `limit` by what one step returns.
  std::string rc = cursor.empty() ? "0" : cursor;
  if (!all_digits(rc) || rc.size() > 20)
    throw store_error(errc::invalid_argument,
                      "malformed scan cursor '" + cursor + "'", "scan",
                      conn_.store());
  cache_scan_page page;
  auto count = std::min(limit, max_scan_count);
  for (int round = 0; round < max_scan_rounds; ++round) {
    std::vector<std::string> keys;
    rc = scan_step(rc, count, keys, "scan");
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (!keys.empty()) {
      // One transaction, so each value and its TTL belong together.
      std::vector<std::vector<std::string>> cmds{{"MULTI"}};
      for (auto& k : keys) {
        cmds.push_back({"GET", k});
        cmds.push_back({"PTTL", k});
      }
      cmds.push_back({"EXEC"});
      auto replies = conn_.pipeline(cmds, "scan");
      redis_read_entries(conn_, *replies.back(), keys, prefix_.size(),
                         page.entries);
    }
    if (rc == "0") return page;
    if (page.entries.size() >= limit) break;
  }
  page.next_cursor = rc;
  return page;
}

redis_options redis_options_of(const store_uri& uri) {
  redis_options opts;
  opts.store = uri.redacted();
  auto bad = [&](const std::string& what) {
    return store_error(errc::invalid_argument, what, "open", opts.store);
  };
  if (uri.scheme() != "redis")
    throw bad("not a redis:// URI: scheme '" + uri.scheme() + "'");
  if (uri.host().empty()) throw bad("redis URI needs a host");
  opts.host = uri.host();
  opts.port = uri.port() ? uri.port() : 6379;
  std::string db = uri.path();
  if (!db.empty() && db.front() == '/') db.erase(0, 1);
  if (!db.empty()) {
    if (!all_digits(db) || db.size() > 9)
      throw bad("redis database '" + db + "' is not a non-negative number");
    opts.db = std::stoll(db);
  }
  opts.user = uri.user();
  opts.password = uri.password();
  if (!opts.user.empty() && opts.password.empty())
    throw bad("redis user '" + opts.user + "' given without a password");
  opts.command_timeout_ms =
      static_cast<int>(uri.int_param("timeout_ms", 10000, 1, 86'400'000));
  opts.pipelining = uri.int_param("pipeline", 1, 0, 1) == 1;
  return opts;
}

namespace {

// The connection's options and the namespace.
std::pair<redis_options, std::string> redis_settings_of(const store_uri& uri) {
  uri.check_params({STORAGE_RUNTIME_PARAMS, "namespace", "pipeline"});
  auto opts = redis_options_of(uri);
  auto ns = uri.param_or("namespace", "default");
  if (ns.empty())
    throw store_error(errc::invalid_argument, "namespace must not be empty",
                      "open", opts.store);
  return {std::move(opts), std::move(ns)};
}

}  // namespace

void check_redis_uri(const store_uri& uri) {
  redis_settings_of(uri);
}

std::unique_ptr<cache_backend> make_redis_cache(const store_uri& uri,
                                                std::uint32_t /*shard*/,
                                                std::uint32_t /*shards*/,
                                                open_deadline deadline) {
  // The state is in the server, so every worker is an interchangeable
  // connection: shard and shards do not matter here.
  auto [opts, ns] = redis_settings_of(uri);
  return std::make_unique<redis_cache>(std::move(opts), ns, deadline);
}

}  // namespace storage
