// The single-key operations of the Redis cache as commands and replies, so
// one op and a whole batch share the same code: a batch appends every op's
// commands to one pipeline (one write, one read of all replies) and decodes
// each op's replies on their own.
#include <hiredis/hiredis.h>

#include <algorithm>

#include "adapters/redis/redis_cache.hpp"
#include "adapters/redis/redis_cache_reply.hpp"
#include "messages/errors.hpp"

namespace storage {

namespace {

// ARGV: the deadline in the server's clock (ms since the epoch), how to
// answer ("0": the one command's reply, "1": every reply as an array (mset),
// "+": the sum of the replies (a del split in parts), "=": the key's value
// as text (an incr: Lua numbers are doubles, exact only to 2^53)), then
// each command as its argument count and its arguments. A script runs as one
// (no other client's command between its writes), as MULTI/EXEC did for mset.
// TIME inside a script is fine: Redis 7 replicates a script's effects, not the
// script.
constexpr const char* write_script = R"(local t = redis.call('TIME')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[1]) then
  return redis.error_reply('TIMEOUT the request reached the server after its deadline; nothing was written')
end
local out, i = {}, 3
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  out[#out + 1] = redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
if ARGV[2] == '1' then return out end
if ARGV[2] == '=' then return redis.call('GET', ARGV[5]) end
if ARGV[2] == '+' then
  local sum = 0
  for _, v in ipairs(out) do sum = sum + v end
  return sum
end
return out[1])";

// Lua's unpack takes at most ~8000 values: a long UNLINK goes in parts.
constexpr std::size_t keys_per_part = 1000;

bool writes(cache_op_kind kind) {
  switch (kind) {
    case cache_op_kind::set:
    case cache_op_kind::add:
    case cache_op_kind::del:
    case cache_op_kind::mset:
    case cache_op_kind::incr:
    case cache_op_kind::expire:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::vector<std::vector<std::string>> redis_cache::framed(
    cache_op_kind kind, std::vector<std::vector<std::string>> cmds) const {
  if (cmds.empty() || !writes(kind)) return cmds;
  bool as_array = kind == cache_op_kind::mset;
  auto deadline = conn_.server_deadline_ms();
  if (!deadline) {
    // Every command is built (and checked) before anything is sent, and
    // MULTI/EXEC applies them as one: no reader sees half a batch.
    if (as_array) {
      cmds.insert(cmds.begin(), {"MULTI"});
      cmds.push_back({"EXEC"});
    }
    return cmds;
  }
  bool parts = kind == cache_op_kind::del;
  std::vector<std::string> eval{"EVAL", write_script, "0",
                                std::to_string(*deadline),
                                as_array                      ? "1"
                                : parts                       ? "+"
                                : kind == cache_op_kind::incr ? "="
                                                              : "0"};
  if (parts) {
    auto& unlink = cmds.front();  // UNLINK and its keys
    for (std::size_t k = 1; k < unlink.size(); k += keys_per_part) {
      auto end = std::min(unlink.size(), k + keys_per_part);
      eval.push_back(std::to_string(end - k + 1));
      eval.push_back("UNLINK");
      for (auto i = k; i < end; ++i) eval.push_back(std::move(unlink[i]));
    }
    return {std::move(eval)};
  }
  for (auto& c : cmds) {
    eval.push_back(std::to_string(c.size()));
    for (auto& a : c) eval.push_back(std::move(a));
  }
  return {std::move(eval)};
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
      // Applied as one by framed().
      std::vector<std::vector<std::string>> cmds;
      for (auto& e : op.entries)
        cmds.push_back(set_command(e.key, e.value, e.ttl, name));
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

cache_op_result redis_cache::run_one(const cache_op& op) {
  auto cmds = commands_for(op);
  cache_op_result out;
  // Connected first: a write's guard needs the server's clock.
  if (!cmds.empty()) conn_.ensure(op_name(op.kind));
  auto replies =
      conn_.pipeline(framed(op.kind, std::move(cmds)), op_name(op.kind));
  redis_read_result(conn_, op, replies.data(), replies.size(), out);
  return out;
}

std::vector<cache_op_result> redis_cache::execute(
    const std::vector<cache_op>& ops) {
  std::vector<cache_op_result> out(ops.size());
  // Which commands belong to which op; an op rejected before sending (empty
  // key, bad ttl) has none and already holds its error.
  std::vector<std::vector<std::vector<std::string>>> each(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    try {
      each[i] = commands_for(ops[i]);
    } catch (const store_error& e) {
      out[i].error = e;
    }
  }
  std::vector<redis_reply> replies;
  std::optional<store_error> broken;
  std::vector<std::vector<std::string>> cmds;
  std::vector<std::size_t> first(ops.size()), count(ops.size(), 0);
  try {
    // Connected first: a write's guard needs the server's clock.
    if (std::any_of(each.begin(), each.end(),
                    [](const auto& c) { return !c.empty(); }))
      conn_.ensure("batch");
    for (std::size_t i = 0; i < ops.size(); ++i) {
      first[i] = cmds.size();
      auto mine = framed(ops[i].kind, std::move(each[i]));
      count[i] = mine.size();
      for (auto& c : mine) cmds.push_back(std::move(c));
    }
    conn_.exchange(cmds, "batch", replies);
  } catch (const store_error& e) {
    broken = e;
    // Not connected: no op went out (the counts say so below).
    if (cmds.empty())
      for (std::size_t i = 0; i < ops.size(); ++i) count[i] = each[i].size();
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
      redis_read_result(conn_, ops[i], replies.data() + first[i], count[i],
                        out[i]);
    } catch (const store_error& e) {
      out[i].error = e;
    }
  }
  return out;
}

}  // namespace storage
