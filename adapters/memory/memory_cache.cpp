#include "adapters/memory/memory_cache.hpp"

#include <algorithm>
#include <cctype>

#include "adapters/cache_incr.hpp"
#include "adapters/factories.hpp"
#include "messages/errors.hpp"
#include "messages/limits.hpp"

namespace storage {

memory_cache::memory_cache(std::string store, std::string ns,
                           std::uint64_t max_entries)
    : store_(std::move(store)), ns_(std::move(ns)), max_entries_(max_entries) {
  if (max_entries_ == 0)
    throw store_error(errc::invalid_argument, "max_entries must be positive",
                      "open", store_);
}

cache_capabilities memory_cache::capabilities() const {
  cache_capabilities caps;
  caps.in_process = true;
  return caps;
}

void memory_cache::check_key(const std::string& key, const char* op) const {
  if (key.empty())
    throw store_error(errc::invalid_argument, "empty key", op, store_);
}

std::optional<memory_cache::clock::time_point> memory_cache::deadline(
    ttl_ms ttl, clock::time_point now, const char* op) const {
  if (!ttl) return std::nullopt;
  if (*ttl <= 0)
    throw store_error(errc::invalid_argument,
                      "ttl must be a positive number of milliseconds, got " +
                          std::to_string(*ttl),
                      op, store_);
  return now + std::chrono::milliseconds(std::min(*ttl, max_ttl_ms));
}

std::int64_t memory_cache::remaining_ms(clock::time_point expires,
                                        clock::time_point now) {
  // Rounded up, so a live key never reports 0 ms left.
  auto left =
      std::chrono::duration_cast<std::chrono::nanoseconds>(expires - now)
          .count();
  return std::max<std::int64_t>(1, (left + 999'999) / 1'000'000);
}

memory_cache::map_type::iterator memory_cache::find_live(
    const std::string& key, clock::time_point now) {
  auto it = map_.find(key);
  if (it == map_.end()) return it;
  if (it->second.expires && *it->second.expires <= now) {
    erase(it);
    return map_.end();
  }
  return it;
}

void memory_cache::touch(map_type::iterator it) {
  lru_.splice(lru_.begin(), lru_, it->second.lru);
}

void memory_cache::set_expiry(map_type::iterator it,
                              std::optional<clock::time_point> expires) {
  if (it->second.expires) expiry_.erase({*it->second.expires, &it->first});
  it->second.expires = expires;
  if (expires) expiry_.insert({*expires, &it->first});
}

void memory_cache::erase(map_type::iterator it) {
  if (it->second.expires) expiry_.erase({*it->second.expires, &it->first});
  lru_.erase(it->second.lru);
  map_.erase(it);
}

void memory_cache::sweep(clock::time_point now) {
  // Each entry is swept once, so this is amortized O(log n) per expiring key.
  while (!expiry_.empty() && expiry_.begin()->first <= now)
    erase(map_.find(*expiry_.begin()->second));
}

void memory_cache::evict() {
  while (map_.size() > max_entries_) erase(lru_.back());
}

void memory_cache::put(const std::string& key, const std::string& value,
                       ttl_ms ttl, clock::time_point now) {
  auto expires = deadline(ttl, now, "set");
  auto it = map_.find(key);
  if (it == map_.end()) {
    it = map_.emplace(key, entry{}).first;
    lru_.push_front(it);
    it->second.lru = lru_.begin();
  } else {
    touch(it);
  }
  it->second.value = value;
  set_expiry(it, expires);
}

std::optional<std::string> memory_cache::get(const std::string& key) {
  check_key(key, "get");
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = find_live(key, clock::now());
  if (it == map_.end()) return std::nullopt;
  touch(it);
  return it->second.value;
}

void memory_cache::set(const std::string& key, const std::string& value,
                       ttl_ms ttl) {
  check_key(key, "set");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = clock::now();
  sweep(now);
  put(key, value, ttl, now);
  evict();
}

bool memory_cache::add(const std::string& key, const std::string& value,
                       ttl_ms ttl) {
  check_key(key, "add");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = clock::now();
  deadline(ttl, now, "add");
  sweep(now);
  if (find_live(key, now) != map_.end()) return false;
  put(key, value, ttl, now);
  evict();
  return true;
}

std::uint64_t memory_cache::del(const std::vector<std::string>& keys) {
  for (auto& k : keys) check_key(k, "del");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = clock::now();
  std::uint64_t removed = 0;
  for (auto& k : keys) {
    auto it = find_live(k, now);
    if (it == map_.end()) continue;
    erase(it);
    ++removed;
  }
  return removed;
}

bool memory_cache::exists(const std::string& key) {
  check_key(key, "exists");
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = find_live(key, clock::now());
  if (it == map_.end()) return false;
  touch(it);
  return true;
}

std::vector<std::optional<std::string>> memory_cache::mget(
    const std::vector<std::string>& keys) {
  for (auto& k : keys) check_key(k, "mget");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = clock::now();
  std::vector<std::optional<std::string>> out;
  out.reserve(keys.size());
  for (auto& k : keys) {
    auto it = find_live(k, now);
    if (it == map_.end()) {
      out.emplace_back();
    } else {
      touch(it);
      out.emplace_back(it->second.value);
    }
  }
  return out;
}

void memory_cache::mset(const std::vector<cache_entry>& entries) {
  // Validated whole first so a bad entry leaves nothing written.
  auto now = clock::now();
  for (auto& e : entries) {
    check_key(e.key, "mset");
    deadline(e.ttl, now, "mset");
  }
  std::lock_guard<std::mutex> guard(mutex_);
  sweep(now);
  for (auto& e : entries) put(e.key, e.value, e.ttl, now);
  evict();
}

std::int64_t memory_cache::incr(const std::string& key, std::int64_t by) {
  check_key(key, "incr");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = clock::now();
  auto it = find_live(key, now);
  std::optional<std::string> stored;
  if (it != map_.end()) stored = it->second.value;
  std::int64_t result = 0;
  try {
    result = apply_cache_incr(stored, by, key);
  } catch (const store_error& e) {
    throw e.with_context("incr", store_);
  }
  if (it == map_.end()) {
    sweep(now);
    put(key, std::to_string(result), std::nullopt, now);
    evict();
  } else {
    it->second.value = std::to_string(result);
    touch(it);
  }
  return result;
}

bool memory_cache::expire(const std::string& key, std::int64_t ttl) {
  check_key(key, "expire");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = clock::now();
  auto expires = deadline(ttl, now, "expire");
  auto it = find_live(key, now);
  if (it == map_.end()) return false;
  set_expiry(it, expires);
  touch(it);
  return true;
}

ttl_info memory_cache::ttl(const std::string& key) {
  check_key(key, "ttl");
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = clock::now();
  ttl_info info;
  auto it = find_live(key, now);
  if (it == map_.end()) return info;
  info.exists = true;
  if (it->second.expires) info.ttl = remaining_ms(*it->second.expires, now);
  return info;
}

std::uint64_t memory_cache::clear() {
  std::lock_guard<std::mutex> guard(mutex_);
  sweep(clock::now());
  auto n = static_cast<std::uint64_t>(map_.size());
  map_.clear();
  lru_.clear();
  expiry_.clear();
  return n;
}

cache_scan_page memory_cache::scan(const std::string& cursor,
                                   std::uint32_t limit) {
  if (limit == 0)
    throw store_error(errc::invalid_argument, "scan limit must be positive",
                      "scan", store_);
  std::lock_guard<std::mutex> guard(mutex_);
  auto now = clock::now();
  sweep(now);
  cache_scan_page page;
  auto it = cursor.empty() ? map_.begin() : map_.upper_bound(cursor);
  for (; it != map_.end() && page.entries.size() < limit; ++it) {
    cache_entry e{it->first, it->second.value, std::nullopt};
    if (it->second.expires) e.ttl = remaining_ms(*it->second.expires, now);
    page.entries.push_back(std::move(e));
  }
  // After the sweep every remaining entry is live, so a key past the page
  // means another page exists.
  if (it != map_.end()) page.next_cursor = page.entries.back().key;
  return page;
}

namespace {

// memory://NAME names one of a process's separate in-memory stores; a
// port, a path, a user or a NAME of other characters is a mistyped URI
// (`memory://&max_entries=1` would otherwise drop its parameters).
void check_memory_name(const store_uri& uri) {
  const auto& name = uri.host();
  bool plain = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
           c == '_' || c == '.';
  });
  if (!plain || uri.port() != 0 || !uri.user().empty() ||
      !(uri.path().empty() || uri.path() == "/"))
    throw store_error(errc::invalid_argument,
                      "memory URI must be memory://[NAME][?params] (NAME of "
                      "letters, digits, '-', '_', '.'), got host '" +
                          name + "'" + (uri.port() != 0 ? ", a port" : "") +
                          (uri.path().size() > 1 ? ", a path" : "") +
                          (!uri.user().empty() ? ", a user" : ""),
                      "open", uri.redacted());
}

// The namespace and max_entries of the whole store.
std::pair<std::string, std::uint64_t> memory_settings_of(const store_uri& uri) {
  uri.check_params({STORAGE_RUNTIME_PARAMS, "max_entries", "namespace"});
  check_memory_name(uri);
  auto ns = uri.param_or("namespace", "default");
  if (ns.empty())
    throw store_error(errc::invalid_argument, "namespace must not be empty",
                      "open", uri.redacted());
  auto total = static_cast<std::uint64_t>(
      uri.int_param("max_entries", 100000, 1, 1'000'000'000'000LL));
  // Each shard holds at least one key, and the shards together at most N.
  auto shards = uri.int_param("pool", 1, 1, 256);
  if (total < static_cast<std::uint64_t>(shards))
    throw store_error(errc::invalid_argument,
                      "max_entries=" + std::to_string(total) +
                          " is fewer than pool=" + std::to_string(shards) +
                          ": each shard holds at least one key",
                      "open", uri.redacted());
  return {std::move(ns), total};
}

}  // namespace

void check_memory_uri(const store_uri& uri) {
  memory_settings_of(uri);
}

std::unique_ptr<cache_backend> make_memory_cache(const store_uri& uri,
                                                 std::uint32_t shard,
                                                 std::uint32_t shards,
                                                 open_deadline) {
  auto [ns, total] = memory_settings_of(uri);
  auto store = uri.redacted();
  if (shards == 0 || shard >= shards)
    throw store_error(errc::invalid_argument,
                      "shard " + std::to_string(shard) + " of " +
                          std::to_string(shards) + " does not exist",
                      "open", store);
  // The whole store holds at most max_entries: the remainder goes one key
  // each to the first shards.
  auto per_shard = total / shards + (shard < total % shards ? 1 : 0);
  return std::make_unique<memory_cache>(store, ns, per_shard);
}

}  // namespace storage
