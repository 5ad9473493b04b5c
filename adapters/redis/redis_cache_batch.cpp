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

cache_op_result redis_cache::run_one(const cache_op& op) {
  auto cmds = commands_for(op);
  cache_op_result out;
  auto replies = conn_.pipeline(cmds, op_name(op.kind));
  redis_read_result(conn_, op, replies.data(), replies.size(), out);
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
      redis_read_result(conn_, ops[i], replies.data() + first[i], count[i],
                        out[i]);
    } catch (const store_error& e) {
      out[i].error = e;
    }
  }
  return out;
}

}  // namespace storage
