#include "adapters/redis/redis_cache_reply.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>

#include "messages/errors.hpp"
#include "messages/limits.hpp"

namespace storage {

namespace {

void read_incr(const redis_connection& conn, const cache_op& op,
               const redisReply& r, cache_op_result& out) {
  if (r.type == REDIS_REPLY_ERROR) {
    std::string text(r.str, r.len);
    // The same words as every other backend (adapters/cache_incr.hpp).
    if (text.find("not an integer") != std::string::npos ||
        text.rfind("WRONGTYPE", 0) == 0)
      throw store_error(errc::type_mismatch,
                        "value of key '" + op.key + "' is not an integer",
                        "incr", conn.store());
    if (text.find("overflow") != std::string::npos)
      throw store_error(errc::invalid_argument,
                        "incr of key '" + op.key + "' by " +
                            std::to_string(op.number) +
                            " would overflow a 64-bit integer",
                        "incr", conn.store());
    conn.check(r, "incr");
  }
  // Text from the write script (redis_cache_batch.cpp), else INCRBY's own.
  if (r.type == REDIS_REPLY_STRING) {
    std::int64_t n = 0;
    auto end = r.str + r.len;
    auto [at, ec] = std::from_chars(r.str, end, n);
    if (ec != std::errc() || at != end) redis_unexpected(conn, "incr");
    out.number = n;
    return;
  }
  if (r.type != REDIS_REPLY_INTEGER) redis_unexpected(conn, "incr");
  out.number = r.integer;
}

}  // namespace

void redis_unexpected(const redis_connection& conn, const char* op) {
  throw store_error(errc::internal,
                    "unexpected reply from redis at " + conn.endpoint(), op,
                    conn.store());
}

std::int64_t redis_live_ttl(long long pttl) {
  // Still live, and a TTL read here may be written back elsewhere, where 0
  // is invalid and more than max_ttl_ms too (another client may set any).
  return std::clamp<long long>(pttl, 1, max_ttl_ms);
}

void redis_read_result(const redis_connection& conn, const cache_op& op,
                       const redis_reply* replies, std::size_t n,
                       cache_op_result& out) {
  auto name = op_name(op.kind);
  if (n == 0) return;  // an empty del, mget or mset: nothing was sent
  if (op.kind == cache_op_kind::incr)
    return read_incr(conn, op, *replies[0], out);
  if (op.kind == cache_op_kind::mset) {
    for (std::size_t i = 0; i < n; ++i) conn.check(*replies[i], name);
    auto& exec = *replies[n - 1];
    if (exec.type != REDIS_REPLY_ARRAY || exec.elements != op.entries.size())
      redis_unexpected(conn, name);
    for (std::size_t i = 0; i < exec.elements; ++i)
      conn.check(*exec.element[i], name);
    out.flag = true;
    return;
  }
  auto& r = *replies[0];
  conn.check(r, name);
  switch (op.kind) {
    case cache_op_kind::get:
      if (r.type == REDIS_REPLY_NIL) return;
      if (r.type != REDIS_REPLY_STRING) redis_unexpected(conn, name);
      out.value = std::string(r.str, r.len);
      return;
    case cache_op_kind::set:
      out.flag = true;
      return;
    case cache_op_kind::add:
      out.flag = r.type != REDIS_REPLY_NIL;
      return;
    case cache_op_kind::mget:
      if (r.type != REDIS_REPLY_ARRAY || r.elements != op.keys.size())
        redis_unexpected(conn, name);
      out.values.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) {
        auto* e = r.element[i];
        if (e->type == REDIS_REPLY_STRING)
          out.values.emplace_back(std::string(e->str, e->len));
        else
          out.values.emplace_back(std::nullopt);
      }
      return;
    default:
      break;
  }
  if (r.type != REDIS_REPLY_INTEGER) redis_unexpected(conn, name);
  switch (op.kind) {
    case cache_op_kind::del:
      out.count = static_cast<std::uint64_t>(r.integer);
      return;
    case cache_op_kind::exists:
      out.flag = r.integer > 0;
      return;
    case cache_op_kind::expire:
      out.flag = r.integer == 1;
      return;
    case cache_op_kind::ttl:
      if (r.integer == -2) return;
      out.ttl.exists = true;
      if (r.integer != -1) out.ttl.ttl = redis_live_ttl(r.integer);
      return;
    default:
      redis_unexpected(conn, name);
  }
}

std::string redis_read_scan(const redis_connection& conn, const redisReply& r,
                            const std::string& prefix,
                            std::vector<std::string>& keys, const char* op) {
  conn.check(r, op);
  if (r.type != REDIS_REPLY_ARRAY || r.elements != 2 ||
      r.element[0]->type != REDIS_REPLY_STRING ||
      r.element[1]->type != REDIS_REPLY_ARRAY)
    redis_unexpected(conn, op);
  auto* page = r.element[1];
  for (std::size_t i = 0; i < page->elements; ++i) {
    auto* e = page->element[i];
    if (e->type != REDIS_REPLY_STRING) redis_unexpected(conn, op);
    std::string k(e->str, e->len);
    if (k.compare(0, prefix.size(), prefix) == 0) keys.push_back(std::move(k));
  }
  return std::string(r.element[0]->str, r.element[0]->len);
}

void redis_read_entries(const redis_connection& conn, const redisReply& exec,
                        const std::vector<std::string>& keys,
                        std::size_t prefix_size,
                        std::vector<cache_entry>& out) {
  conn.check(exec, "scan");
  if (exec.type != REDIS_REPLY_ARRAY || exec.elements != 2 * keys.size())
    redis_unexpected(conn, "scan");
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto* v = exec.element[2 * i];
    auto* t = exec.element[2 * i + 1];
    // Gone since SCAN saw it, or not a string (never written by a cache):
    // not a live entry of this cache.
    if (v->type != REDIS_REPLY_STRING || t->type != REDIS_REPLY_INTEGER ||
        t->integer == -2)
      continue;
    cache_entry e{keys[i].substr(prefix_size), std::string(v->str, v->len),
                  std::nullopt};
    if (t->integer != -1) e.ttl = redis_live_ttl(t->integer);
    out.push_back(std::move(e));
  }
}

}  // namespace storage
