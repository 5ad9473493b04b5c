// A cache over ONE connection, confined to its namespace: plain synchronous
// C++, no actors. Every method throws store_error on failure. Callers pass
// keys and TTLs already checked (messages/validation.hpp). An expired key is
// never returned.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "messages/records.hpp"

namespace storage {

struct cache_capabilities {
  // State lives in this process (memory://): pool workers are shards.
  bool in_process = false;
};

class cache_backend {
 public:
  virtual ~cache_backend() = default;

  virtual cache_capabilities capabilities() const = 0;

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
  // opaque: in-process backends use the last key (key order), Redis its
  // SCAN cursor.
  virtual cache_scan_page scan(const std::string& cursor,
                               std::uint32_t limit) = 0;
};

}  // namespace storage
