// A cache over ONE connection, confined to its namespace: plain synchronous
// C++, no actors. Every method throws store_error on failure. Callers pass
// keys and TTLs already checked (messages/validation.hpp). An expired key is
// never returned.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "messages/errors.hpp"
#include "messages/records.hpp"

namespace storage {

struct cache_capabilities {
  // State lives in this process (memory://): pool workers are shards.
  bool in_process = false;
  // execute() sends a whole batch in one exchange with the server, so a
  // worker gains by collecting the requests waiting in its mailbox.
  bool batching = false;
};

// One single-key (or one multi-key) operation of a batch, see execute().
enum class cache_op_kind : std::uint8_t {
  get,
  set,
  add,
  del,
  exists,
  mget,
  mset,
  incr,
  expire,
  ttl,
};

// The operation's name, as errors name it.
inline const char* op_name(cache_op_kind kind) {
  switch (kind) {
    case cache_op_kind::get:
      return "get";
    case cache_op_kind::set:
      return "set";
    case cache_op_kind::add:
      return "add";
    case cache_op_kind::del:
      return "del";
    case cache_op_kind::exists:
      return "exists";
    case cache_op_kind::mget:
      return "mget";
    case cache_op_kind::mset:
      return "mset";
    case cache_op_kind::incr:
      return "incr";
    case cache_op_kind::expire:
      return "expire";
    case cache_op_kind::ttl:
      return "ttl";
  }
  return "?";
}

struct cache_op {
  cache_op_kind kind = cache_op_kind::get;
  std::string key;                   // all kinds but del, mget, mset
  std::string value;                 // set, add
  ttl_ms ttl;                        // set, add
  std::int64_t number = 0;           // incr: the step; expire: the ttl in ms
  std::vector<std::string> keys;     // del, mget
  std::vector<cache_entry> entries;  // mset
};

// The answer to one cache_op: `error`, or the field its kind fills.
struct cache_op_result {
  std::optional<store_error> error;
  std::optional<std::string> value;                // get
  std::vector<std::optional<std::string>> values;  // mget
  std::uint64_t count = 0;                         // del
  std::int64_t number = 0;                         // incr
  bool flag = false;                               // add, exists, expire
  ttl_info ttl;                                    // ttl
};

class cache_backend {
 public:
  virtual ~cache_backend() = default;

  virtual cache_capabilities capabilities() const = 0;

  // The deadline of the request about to run: the adapter's own waits (a
  // socket read, a busy SQLite lock, an HTTP exchange) end by then with
  // timeout. Called before every request; an adapter that never waits
  // ignores it.
  virtual void set_deadline(std::chrono::steady_clock::time_point) {}

  virtual std::optional<std::string> get(const std::string& key) = 0;
  // Replaces value and TTL; no ttl clears an earlier expiry.
  virtual void set(const std::string& key, const std::string& value,
                   ttl_ms ttl) = 0;
  // Only if absent (or expired); false and no change otherwise.
  virtual bool add(const std::string& key, const std::string& value,
                   ttl_ms ttl) = 0;
  // Returns how many live keys were removed.
  virtual std::uint64_t del(const std::vector<std::string>& keys) = 0;
  virtual bool exists(const std::string& key) = 0;
  // One answer per key, in the order of `keys`.
  virtual std::vector<std::optional<std::string>> mget(
      const std::vector<std::string>& keys) = 0;
  // Atomic: all entries or none, each with its own ttl (none: no expiry).
  virtual void mset(const std::vector<cache_entry>& entries) = 0;
  // A missing key starts at 0; a non-integer value is type_mismatch and is
  // left unchanged. Keeps the key's TTL.
  virtual std::int64_t incr(const std::string& key, std::int64_t by) = 0;
  // False if there is no such key.
  virtual bool expire(const std::string& key, std::int64_t ttl) = 0;
  virtual ttl_info ttl(const std::string& key) = 0;
  // Removes every key of this namespace and nothing else; returns how many.
  virtual std::uint64_t clear() = 0;
  // Live entries with their remaining TTL. `cursor` is "" to start, then the
  // page's next_cursor; an empty next_cursor marks the end. The cursor is
  // opaque: in-process backends use the last key (key order) and return at
  // most `limit` entries; Redis uses its SCAN cursor and may return more
  // (a SCAN step is never split, so no key is lost while others change).
  virtual cache_scan_page scan(const std::string& cursor,
                               std::uint32_t limit) = 0;

  // Runs `ops` in order and answers each on its own: one op's failure (say
  // incr on a non-integer) does not stop the others. This default makes one
  // call per op; a backend that can send the batch in one exchange
  // overrides it and sets capabilities().batching.
  virtual std::vector<cache_op_result> execute(
      const std::vector<cache_op>& ops) {
    std::vector<cache_op_result> out(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
      try {
        run_op(ops[i], out[i]);
      } catch (const store_error& e) {
        out[i].error = e;
      } catch (const std::exception& e) {
        out[i].error = store_error(errc::internal, e.what());
      }
    }
    return out;
  }

 public:
  // One op through the single-op methods; throws as they do.
  void run_op(const cache_op& op, cache_op_result& r) {
    switch (op.kind) {
      case cache_op_kind::get:
        r.value = get(op.key);
        break;
      case cache_op_kind::set:
        set(op.key, op.value, op.ttl);
        r.flag = true;
        break;
      case cache_op_kind::add:
        r.flag = add(op.key, op.value, op.ttl);
        break;
      case cache_op_kind::del:
        r.count = del(op.keys);
        break;
      case cache_op_kind::exists:
        r.flag = exists(op.key);
        break;
      case cache_op_kind::mget:
        r.values = mget(op.keys);
        break;
      case cache_op_kind::mset:
        mset(op.entries);
        r.flag = true;
        break;
      case cache_op_kind::incr:
        r.number = incr(op.key, op.number);
        break;
      case cache_op_kind::expire:
        r.flag = expire(op.key, op.number);
        break;
      case cache_op_kind::ttl:
        r.ttl = ttl(op.key);
        break;
    }
  }
};

}  // namespace storage
