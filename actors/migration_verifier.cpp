#include "actors/migration_verifier.hpp"

#include <chrono>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>

#include "actors/migration_digest.hpp"
#include "actors/migration_pipeline.hpp"
#include "messages/caf_support.hpp"

namespace storage {

namespace {

void note(verify_report& r, const std::string& id) {
  ++r.differing;
  if (r.first_differing.size() < 10) r.first_differing.push_back(id);
}

struct digest_stream {
  const vector_store_actor* store;
  std::string name;
  struct item {
    vector_record record;
    std::uint64_t digest;
  };
  std::deque<item> buf;
  std::string cursor;
  bool end = false;

  void fill(caf::scoped_actor& self, const std::string& collection,
            std::uint32_t page) {
    while (buf.empty() && !end) {
      auto p = blocking_request<scan_page>(self, *store, "verify", name,
                                           vscan_atom::value, collection,
                                           cursor, page);
      for (auto& r : p.records) {
        auto d = record_digest(r);
        buf.push_back({std::move(r), d});
      }
      cursor = p.next_cursor;
      end = p.next_cursor.empty();
    }
  }
};

std::int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct key_state {
  std::uint64_t digest;
  std::int64_t expiry;  // Unix ms, 0 = none
  bool seen = false;    // found on the target
};

// Every live entry of a cache, page by page, with its absolute expiry.
template <class Fn>
void scan_cache(caf::scoped_actor& self, const cache_store_actor& store,
                const std::string& name, std::uint32_t page, Fn fn) {
  std::string cursor;
  do {
    auto p = blocking_request<cache_scan_page>(self, store, "verify", name,
                                               cscan_atom::value, cursor, page);
    auto at = now_unix_ms();
    for (auto& e : p.entries) fn(e, e.ttl ? at + *e.ttl : 0);
    cursor = p.next_cursor;
  } while (!cursor.empty());
}

}  // namespace

verify_report verify_collection(caf::actor_system& sys,
                                const vector_store_actor& source,
                                const vector_store_actor& target,
                                const std::string& collection,
                                std::uint32_t page,
                                const std::string& source_name,
                                const std::string& target_name) {
  caf::scoped_actor self{sys};
  verify_report r;
  digest_stream a{&source, source_name, {}, {}, false};
  digest_stream b{&target, target_name, {}, {}, false};
  for (;;) {
    a.fill(self, collection, page);
    b.fill(self, collection, page);
    if (a.buf.empty() && b.buf.empty()) break;
    // Both streams are in id order (bytewise): merge them.
    if (b.buf.empty() ||
        (!a.buf.empty() && a.buf.front().record.id < b.buf.front().record.id)) {
      note(r, a.buf.front().record.id);  // missing on the target
      a.buf.pop_front();
      ++r.source_count;
    } else if (a.buf.empty() ||
               b.buf.front().record.id < a.buf.front().record.id) {
      note(r, b.buf.front().record.id);  // only on the target
      b.buf.pop_front();
      ++r.target_count;
    } else {
      auto& x = a.buf.front();
      auto& y = b.buf.front();
      if (x.digest != y.digest && !same_up_to_rounding(x.record, y.record))
        note(r, x.record.id);
      a.buf.pop_front();
      b.buf.pop_front();
      ++r.source_count;
      ++r.target_count;
    }
  }
  return r;
}

verify_report verify_cache(caf::actor_system& sys,
                           const cache_store_actor& source,
                           const cache_store_actor& target, std::uint32_t page,
                           std::chrono::milliseconds tolerance,
                           const std::string& source_name,
                           const std::string& target_name) {
  caf::scoped_actor self{sys};
  verify_report r;
  auto tol = tolerance.count();
  std::unordered_map<std::string, key_state> keys;
  scan_cache(self, source, source_name, page,
             [&](const cache_entry& e, std::int64_t expiry) {
               keys[e.key] = key_state{entry_digest(e.key, e.value), expiry};
             });
  r.source_count = keys.size();
  // A key that expires about now may be gone from one side and not yet from
  // the other: that is no difference.
  auto expiring = [&](std::int64_t expiry) {
    return expiry != 0 && expiry <= now_unix_ms() + tol;
  };
  // Redis SCAN may return a key twice: count and judge each key once.
  std::unordered_set<std::string> extra;
  scan_cache(self, target, target_name, page,
             [&](const cache_entry& e, std::int64_t expiry) {
               auto it = keys.find(e.key);
               if (it == keys.end()) {
                 if (extra.insert(e.key).second) {
                   ++r.target_count;
                   if (!expiring(expiry)) note(r, e.key);
                 }
                 return;
               }
               auto& k = it->second;
               if (k.seen) return;
               k.seen = true;
               ++r.target_count;
               bool same_expiry = (k.expiry == 0 && expiry == 0) ||
                                  (k.expiry != 0 && expiry != 0 &&
                                   std::abs(k.expiry - expiry) <= tol);
               if (k.digest != entry_digest(e.key, e.value) || !same_expiry)
                 note(r, e.key);
             });
  for (auto& [key, k] : keys)
    if (!k.seen && !expiring(k.expiry)) note(r, key);
  return r;
}

void require_verified(const verify_report& r, const std::string& what) {
  // Every extra or missing id is one of `differing`, so no difference
  // means the counts agree too (bar keys that expired during the check).
  if (r.differing == 0) return;
  std::string ids;
  for (auto& id : r.first_differing) ids += (ids.empty() ? "" : ", ") + id;
  throw store_error(
      errc::verification_failed,
      std::to_string(r.differing) + " differ between source and target of " +
          what + " (source " + std::to_string(r.source_count) + ", target " +
          std::to_string(r.target_count) + ")" +
          (ids.empty() ? std::string() : "; first differing: " + ids),
      "verify");
}

}  // namespace storage
