// The single-key operations of the Redis cache as commands and replies, so
// one op and a whole batch share the same code: a batch appends every op's
// commands to one pipeline (one write, one read of all replies) and decodes
// each op's replies on their own.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <optional>

#include "adapters/redis/redis_cache.hpp"
#include "adapters/redis/redis_cache_reply.hpp"
#include "messages/errors.hpp"

namespace storage {

namespace {

// One script runs every write of a pipeline's run of consecutive writes, so
// the server pays the script's own cost (and reads TIME) once per run, not
// once per write. ARGV: the deadline in the server's clock (ms since the
// epoch), then per write how to answer ("0": its one command's reply, "1":
// every reply as an array (mset), "+": the sum of the replies (a del split
// in parts), "=": the key's value as text (an incr: Lua numbers are
// doubles, exact only to 2^53)), its number of commands, and each command
// as its argument count and its arguments. The answer holds one entry per
// write. A command that fails ends its write (the rest of that write's
// commands are skipped) but not the others, as error replies in a pipeline
// do. A script runs as one: no other client's command comes between its
// writes (as MULTI/EXEC did for mset). TIME inside a script is fine: Redis
// 7 replicates a script's effects, not the script. It goes out whole with
// each call (EVAL): EVALSHA would save the server ~2 us per call, a cost
// the benchmarks could not see once writes share a call, and a SCRIPT FLUSH
// would then fail the writes that met NOSCRIPT.
constexpr const char* write_script = R"(local t = redis.call('TIME')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[1]) then
  return redis.error_reply('TIMEOUT the request reached the server after its deadline; nothing was written')
end
local out, i = {}, 2
while i <= #ARGV do
  local mode, left = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  local first, replies, failed = i, {}, nil
  for _ = 1, left do
    local n = tonumber(ARGV[i])
    if not failed then
      local r = redis.pcall(unpack(ARGV, i + 1, i + n))
      if type(r) == 'table' and r.err then failed = r else replies[#replies + 1] = r end
    end
    i = i + n + 1
  end
  local answer = replies[1]
  if failed then answer = failed
  elseif mode == '1' then answer = replies
  elseif mode == '=' then answer = redis.call('GET', ARGV[first + 2])
  elseif mode == '+' then
    answer = 0
    for _, v in ipairs(replies) do answer = answer + v end
  end
  out[#out + 1] = answer
end
return out)";

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

const char* answer_mode(cache_op_kind kind) {
  switch (kind) {
    case cache_op_kind::mset:
      return "1";
    case cache_op_kind::del:
      return "+";
    case cache_op_kind::incr:
      return "=";
    default:
      return "0";
  }
}

// Appends one write's commands to the write script's arguments.
void append_write(cache_op_kind kind, redis_cache::op_commands cmds,
                  std::vector<std::string>& script) {
  script.push_back(answer_mode(kind));
  if (kind != cache_op_kind::del) {
    script.push_back(std::to_string(cmds.size()));
    for (auto& c : cmds) {
      script.push_back(std::to_string(c.size()));
      for (auto& a : c) script.push_back(std::move(a));
    }
    return;
  }
  auto& unlink = cmds.front();  // UNLINK and its keys
  auto keys = unlink.size() - 1;
  script.push_back(std::to_string((keys + keys_per_part - 1) / keys_per_part));
  for (std::size_t k = 1; k < unlink.size(); k += keys_per_part) {
    auto end = std::min(unlink.size(), k + keys_per_part);
    script.push_back(std::to_string(end - k + 1));
    script.push_back("UNLINK");
    for (auto i = k; i < end; ++i) script.push_back(std::move(unlink[i]));
  }
}

// Where an op's answer lies in a pipeline's replies: `count` replies from
// `first` on, or entry `entry` of the write script's reply at `first`.
// `sent`: the op has commands (an empty del, mget or mset has none).
struct op_place {
  bool sent = false;
  std::size_t first = 0;
  std::size_t count = 0;
  std::optional<std::size_t> entry;
};

constexpr auto no_script = static_cast<std::size_t>(-1);

}  // namespace

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
      // Applied as one by run().
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

void redis_cache::run(const cache_op* ops, std::size_t n,
                      std::vector<op_commands>& each, cache_op_result* out,
                      const char* name) {
  std::vector<op_place> at(n);
  bool any = false;
  for (std::size_t i = 0; i < n; ++i) {
    at[i].sent = !each[i].empty();
    any = any || at[i].sent;
  }
  std::vector<std::vector<std::string>> cmds;
  std::vector<redis_reply> replies;
  std::optional<store_error> broken;
  try {
    // Connected first: a write's guard needs the server's clock.
    if (any) conn_.ensure(name);
    auto deadline = conn_.server_deadline_ms();
    auto script = no_script;  // the script taking this run of writes
    std::size_t entries = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!at[i].sent) continue;
      auto kind = ops[i].kind;
      if (deadline && writes(kind)) {
        if (script == no_script) {
          script = cmds.size();
          entries = 0;
          cmds.push_back(
              {"EVAL", write_script, "0", std::to_string(*deadline)});
        }
        at[i] = {true, script, 1, entries++};
        append_write(kind, std::move(each[i]), cmds[script]);
        continue;
      }
      script = no_script;
      at[i].first = cmds.size();
      // Without a deadline (the adapter used on its own): MULTI/EXEC
      // applies an mset as one, every command built (and checked) before
      // anything is sent.
      bool multi = kind == cache_op_kind::mset;
      if (multi) cmds.push_back({"MULTI"});
      for (auto& c : each[i]) cmds.push_back(std::move(c));
      if (multi) cmds.push_back({"EXEC"});
      at[i].count = cmds.size() - at[i].first;
    }
    conn_.exchange(cmds, name, replies);
  } catch (const store_error& e) {
    broken = e;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (out[i].error) continue;
    auto& p = at[i];
    auto op = op_name(ops[i].kind);
    // Every reply of this op arrived: it was carried out, and its answer
    // stands even if the connection broke later in the batch. Otherwise
    // its outcome is unknown, as with a single command on a broken link.
    // (Replies fall short only when the exchange threw.)
    if (p.sent && (p.count == 0 || p.first + p.count > replies.size())) {
      out[i].error =
          store_error(broken->code(), broken->message(), op, conn_.store());
      continue;
    }
    try {
      if (!p.entry) {
        redis_read_result(conn_, ops[i], replies.data() + p.first, p.count,
                          out[i]);
        continue;
      }
      // The script's own refusal (timeout, NOPERM) is every write's in it;
      // else each takes its entry.
      auto& r = *replies[p.first];
      conn_.check(r, op);
      if (r.type != REDIS_REPLY_ARRAY || *p.entry >= r.elements)
        redis_unexpected(conn_, op);
      redis_reply mine(r.element[*p.entry]);
      r.element[*p.entry] = nullptr;  // freeReplyObject skips it
      redis_read_result(conn_, ops[i], &mine, 1, out[i]);
    } catch (const store_error& e) {
      out[i].error = e;
    }
  }
}

cache_op_result redis_cache::run_one(const cache_op& op) {
  std::vector<op_commands> each{commands_for(op)};
  cache_op_result out;
  run(&op, 1, each, &out, op_name(op.kind));
  if (out.error) throw *out.error;
  return out;
}

std::vector<cache_op_result> redis_cache::execute(
    const std::vector<cache_op>& ops) {
  std::vector<cache_op_result> out(ops.size());
  // An op rejected before sending (empty key, bad ttl) has no commands and
  // already holds its error.
  std::vector<op_commands> each(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    try {
      each[i] = commands_for(ops[i]);
    } catch (const store_error& e) {
      out[i].error = e;
    }
  }
  run(ops.data(), ops.size(), each, out.data(), "batch");
  return out;
}

}  // namespace storage
