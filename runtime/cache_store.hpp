// The cache for plain C++ code: every call returns a future, and a failed
// call's future throws store_error. TTLs are milliseconds and positive; an
// empty ttl means no expiry. On memory://, Redis and SQLite a call that
// finds its connection idle runs on the calling thread and returns a future
// that is already complete (no thread hand-off), so calls a thread issues
// before waiting run one after another -- use mget/mset/del batches, or
// several threads, to overlap them. A call that timed out, lost its
// connection that way (a stuck server, a locked file) or took 100 ms or more
// sends that connection's next calls to its worker thread for a second. A
// thread's calls take effect in the order it issued them either way.
#pragma once

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "messages/errors.hpp"  // what every call throws: store_error
#include "messages/interfaces.hpp"

namespace storage {

class bridge;
struct call_target;

class cache_store {
 public:
  cache_store(cache_store_actor handle, std::shared_ptr<bridge> via,
              std::shared_ptr<const call_target> target);

  std::future<std::optional<std::string>> get(std::string key);
  std::future<void> set(std::string key, std::string value, ttl_ms ttl = {});
  // false: the key exists; nothing changed.
  std::future<bool> add(std::string key, std::string value, ttl_ms ttl = {});
  std::future<std::uint64_t> del(std::vector<std::string> keys);
  std::future<bool> exists(std::string key);
  // One answer per key, in the order given.
  std::future<std::vector<std::optional<std::string>>> mget(
      std::vector<std::string> keys);
  std::future<void> mset(std::vector<cache_entry> entries);
  // A missing key starts at 0; a non-integer value is type_mismatch; a sum
  // beyond 64 bits is invalid_argument. Either way nothing changes.
  std::future<std::int64_t> incr(std::string key, std::int64_t by = 1);
  // false: no such key.
  std::future<bool> expire(std::string key, std::int64_t ttl_ms);
  std::future<ttl_info> ttl(std::string key);
  // Removes this namespace's keys only; returns how many.
  std::future<std::uint64_t> clear();
  // Start with cursor ""; an empty next_cursor ends the scan. A page holds
  // at most `limit` entries on memory:// and sqlite://; on Redis `limit` is
  // SCAN's COUNT, a hint: a page may hold more (a SCAN step is never split,
  // so no key is lost while others change).
  std::future<cache_scan_page> scan(std::string cursor, std::uint32_t limit);

  const cache_store_actor& actor() const { return handle_; }
  const std::string& name() const;

 private:
  cache_store_actor handle_;
  std::shared_ptr<bridge> bridge_;
  std::shared_ptr<const call_target> target_;
};

}  // namespace storage
