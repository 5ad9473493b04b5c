// memory://[NAME]?max_entries=N&namespace=NS — an in-process LRU cache with
// TTLs; NAME picks one of a process's separate stores.
// Each instance is one shard holding its own keys; with pool=N the runtime
// makes N of them and routes each key to one. max_entries bounds the whole
// store (split over the shards, so at least pool; LRU order is per shard).
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "adapters/cache_backend.hpp"

namespace storage {

class memory_cache final : public cache_backend {
 public:
  memory_cache(std::string store, std::string ns, std::uint64_t max_entries);

  cache_capabilities capabilities() const override;
  std::optional<std::string> get(const std::string& key) override;
  void set(const std::string& key, const std::string& value,
           ttl_ms ttl) override;
  bool add(const std::string& key, const std::string& value,
           ttl_ms ttl) override;
  std::uint64_t del(const std::vector<std::string>& keys) override;
  bool exists(const std::string& key) override;
  std::vector<std::optional<std::string>> mget(
      const std::vector<std::string>& keys) override;
  void mset(const std::vector<cache_entry>& entries) override;
  std::int64_t incr(const std::string& key, std::int64_t by) override;
  bool expire(const std::string& key, std::int64_t ttl) override;
  ttl_info ttl(const std::string& key) override;
  std::uint64_t clear() override;
  cache_scan_page scan(const std::string& cursor, std::uint32_t limit) override;

  const std::string& name_space() const { return ns_; }
  std::uint64_t max_entries() const { return max_entries_; }

 private:
  using clock = std::chrono::steady_clock;
  struct entry;
  // A std::map gives scan its key order; its iterators stay valid, so the LRU
  // list and the expiry index can point into it.
  using map_type = std::map<std::string, entry>;
  using lru_list = std::list<map_type::iterator>;
  using expiry_index =
      std::set<std::pair<clock::time_point, const std::string*>>;
  struct entry {
    std::string value;
    std::optional<clock::time_point> expires;
    lru_list::iterator lru;
  };

  // The live entry for `key` (expired ones are erased on sight), or end().
  map_type::iterator find_live(const std::string& key, clock::time_point now);
  void touch(map_type::iterator it);
  void set_expiry(map_type::iterator it,
                  std::optional<clock::time_point> expires);
  void put(const std::string& key, const std::string& value, ttl_ms ttl,
           clock::time_point now);
  void erase(map_type::iterator it);
  void sweep(clock::time_point now);
  void evict();
  std::optional<clock::time_point> deadline(ttl_ms ttl, clock::time_point now,
                                            const char* op) const;
  static std::int64_t remaining_ms(clock::time_point expires,
                                   clock::time_point now);
  void check_key(const std::string& key, const char* op) const;

  std::string store_;
  std::string ns_;
  std::uint64_t max_entries_;
  std::mutex mutex_;
  map_type map_;
  lru_list lru_;  // front: most recently used
  expiry_index expiry_;
};

}  // namespace storage
