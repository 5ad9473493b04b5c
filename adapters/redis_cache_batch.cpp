// The single-key operations of the Redis cache as commands and replies, so
// one op and a whole batch share the same code: a batch appends every op's
// commands to one pipeline (one write, one read of all replies) and decodes
// each op's replies on their own.
#include <hiredis/hiredis.h>

#include <algorithm>

#include "adapters/redis_cache.hpp"
#include "messages/errors.hpp"

namespace storage {

std::int64_t redis_cache::live_ttl(long long pttl) {
  // Redis reports 0 ms for a key in its last millisecond; it is still live,
  // and a TTL read here may be written back elsewhere, where 0 is invalid.
  return std::max<long long>(1, pttl);
}

std::vector<std::vector<std::string>> redis_cache::commands_for(
    const cache_op& op) const {
  auto name = op_name(op.kind);
  switch (op.kind) {
    case cache_op_kind::get:
      return {{"GET", full(op.key, name)}};
    case cache_op_kind::set:
      return {set_command(op.key, op.value, op.ttl, name)};
    case cache_op_kind::add: {
      auto cmd = set_command(op.key, op.value, op.ttl, name);
      cmd.push_back("NX");
      return {std::move(cmd)};
    }
    case cache_op_kind::del:
    case cache_op_kind::mget: {
      if (op.keys.empty()) return {};
      std::vector<std::string> cmd{op.kind == cache_op_kind::del ? "UNLINK"
                                                                 : "MGET"};
      for (auto& k : op.keys) cmd.push_back(full(k, name));
      return {std::move(cmd)};
    }
    case cache_op_kind::exists:
      return {{"EXISTS", full(op.key, name)}};
    case cache_op_kind::mset: {
      if (op.entries.empty()) return {};
      // Every command is built (and checked) before anything is sent, and
      // MULTI/EXEC applies them as one: no reader sees half a batch.
      std::vector<std::vector<std::string>> cmds{{"MULTI"}};
      for (auto& e : op.entries)
        cmds.push_back(set_command(e.key, e.value, e.ttl, name));
      cmds.push_back({"EXEC"});
      return cmds;
    }
    case cache_op_kind::incr:
      return {{"INCRBY", full(op.key, name), std::to_string(op.number)}};
    case cache_op_kind::expire:
      // A PEXPIRE of 0 would delete the key instead.
      if (op.number <= 0)
        throw store_error(
            errc::invalid_argument,
            "ttl must be a positive number of milliseconds, got " +
                std::to_string(op.number),
            name, conn_.store());
      return {{"PEXPIRE", full(op.key, name),
               std::to_string(std::min(op.number, max_ttl_ms))}};
    case cache_op_kind::ttl:
      return {{"PTTL", full(op.key, name)}};
  }
  unexpected(name);
}

void redis_cache::read_incr(const cache_op& op, const redisReply& r,
                            cache_op_result& out) const {
  if (r.type == REDIS_REPLY_ERROR) {
    std::string text(r.str, r.len);
    // The same words as every other backend (adapters/cache_incr.hpp).
    if (text.find("not an integer") != std::string::npos ||
        text.rfind("WRONGTYPE", 0) == 0)
      throw store_error(errc::type_mismatch,
                        "value of key '" + op.key + "' is not an integer",
                        "incr", conn_.store());
    if (text.find("overflow") != std::string::npos)
      throw store_error(errc::invalid_argument,
                        "incr of key '" + op.key + "' by " +
                            std::to_string(op.number) +
                            " would overflow a 64-bit integer",
                        "incr", conn_.store());
    conn_.check(r, "incr");
  }
  if (r.type != REDIS_REPLY_INTEGER) unexpected("incr");
  out.number = r.integer;
}

void redis_cache::read_result(const cache_op& op, const redis_reply* replies,
                              std::size_t n, cache_op_result& out) const {
  auto name = op_name(op.kind);
  if (n == 0) return;  // an empty del, mget or mset: nothing was sent
  if (op.kind == cache_op_kind::incr) return read_incr(op, *replies[0], out);
  if (op.kind == cache_op_kind::mset) {
    for (std::size_t i = 0; i < n; ++i) conn_.check(*replies[i], name);
    auto& exec = *replies[n - 1];
    if (exec.type != REDIS_REPLY_ARRAY || exec.elements != op.entries.size())
      unexpected(name);
    for (std::size_t i = 0; i < exec.elements; ++i)
      conn_.check(*exec.element[i], name);
    out.flag = true;
    return;
  }
  auto& r = *replies[0];
  conn_.check(r, name);
  switch (op.kind) {
    case cache_op_kind::get:
      if (r.type == REDIS_REPLY_NIL) return;
      if (r.type != REDIS_REPLY_STRING) unexpected(name);
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
        unexpected(name);
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
  if (r.type != REDIS_REPLY_INTEGER) unexpected(name);
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
      if (r.integer != -1) out.ttl.ttl = live_ttl(r.integer);
      return;
    default:
      unexpected(name);
  }
}

cache_op_result redis_cache::run_one(const cache_op& op) {
  auto cmds = commands_for(op);
  cache_op_result out;
  auto replies = conn_.pipeline(cmds, op_name(op.kind));
  read_result(op, replies.data(), replies.size(), out);
  return out;
}

std::vector<cache_op_result> redis_cache::execute(
    const std::vector<cache_op>& ops) {
  std::vector<cache_op_result> out(ops.size());
  // Which commands belong to which op; an op rejected before sending (empty
  // key, bad ttl) has none and already holds its error.
  std::vector<std::vector<std::string>> cmds;
  std::vector<std::size_t> first(ops.size()), count(ops.size(), 0);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    first[i] = cmds.size();
    try {
      auto mine = commands_for(ops[i]);
      count[i] = mine.size();
      for (auto& c : mine) cmds.push_back(std::move(c));
    } catch (const store_error& e) {
      out[i].error = e;
    }
  }
  std::vector<redis_reply> replies;
  std::optional<store_error> broken;
  try {
    conn_.exchange(cmds, "batch", replies);
  } catch (const store_error& e) {
    broken = e;
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (out[i].error) continue;
    // Every reply of this op arrived: it was carried out, and its answer
    // stands even if the connection broke later in the batch. Otherwise
    // its outcome is unknown, as with a single command on a broken link.
    if (first[i] + count[i] > replies.size()) {
      out[i].error = store_error(broken->code(), broken->message(),
                                 op_name(ops[i].kind), conn_.store());
      continue;
    }
    try {
      read_result(ops[i], replies.data() + first[i], count[i], out[i]);
    } catch (const store_error& e) {
      out[i].error = e;
    }
  }
  return out;
}

}  // namespace storage
