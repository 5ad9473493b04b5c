#include "actors/migration/migration_verifier.hpp"

#include <chrono>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>

#include "actors/migration/migration_digest.hpp"
#include "actors/migration/migration_pipeline.hpp"
#include "messages/caf_support.hpp"

namespace storage {

namespace {

void note(verify_report& r, difference d, const std::string& id) {
  switch (d) {
    case difference::missing:
      r.missing.note(id);
      break;
    case difference::extra:
      r.extra.note(id);
      break;
    case difference::mismatched:
      r.mismatched.note(id);
      break;
  }
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
  bool end = false;  // an absent collection starts at its end

  void fill(caf::scoped_actor& self, const std::string& collection,
            std::uint32_t page) {
    // An empty page with a cursor is no end: Chroma answers one when the
    // ids it listed were deleted before it fetched them.
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

std::string name_ids(const id_sample& s, std::size_t& budget) {
  std::string out;
  std::size_t named = 0;
  for (; named < s.first.size() && budget > 0; ++named, --budget)
    out += (out.empty() ? "" : ", ") + s.first[named];
  if (s.count > named) out += out.empty() ? "..." : ", ...";
  return out;
}

const char* to_string(difference d) {
  switch (d) {
    case difference::missing:
      return "missing";
    case difference::extra:
      return "extra";
    case difference::mismatched:
      return "mismatched";
  }
  return "?";
}

void id_sample::note(const std::string& id) {
  ++count;
  if (first.size() < max_named) first.push_back(id);
}

const id_sample& verify_report::of(difference d) const {
  switch (d) {
    case difference::missing:
      return missing;
    case difference::extra:
      return extra;
    case difference::mismatched:
      break;
  }
  return mismatched;
}

verify_report compare_collection(
    caf::actor_system& sys, const vector_store_actor& source,
    const vector_store_actor& target, const std::string& collection,
    std::uint32_t page, const std::string& source_name,
    const std::string& target_name, const record_visitor& visit,
    collection_sides sides) {
  caf::scoped_actor self{sys};
  verify_report r;
  digest_stream a{&source, source_name, {}, {}, !sides.on_source};
  digest_stream b{&target, target_name, {}, {}, !sides.on_target};
  auto found = [&](difference d, const std::string& id,
                   const vector_record* rec) {
    note(r, d, id);
    if (visit) visit(d, id, rec);
  };
  for (;;) {
    a.fill(self, collection, page);
    b.fill(self, collection, page);
    if (a.buf.empty() && b.buf.empty()) break;
    // Both streams are in id order (bytewise): merge them.
    if (b.buf.empty() ||
        (!a.buf.empty() && a.buf.front().record.id < b.buf.front().record.id)) {
      auto& x = a.buf.front().record;
      found(difference::missing, x.id, &x);
      a.buf.pop_front();
      ++r.source_count;
    } else if (a.buf.empty() ||
               b.buf.front().record.id < a.buf.front().record.id) {
      found(difference::extra, b.buf.front().record.id, nullptr);
      b.buf.pop_front();
      ++r.target_count;
    } else {
      auto& x = a.buf.front();
      auto& y = b.buf.front();
      if (x.digest != y.digest && !same_up_to_rounding(x.record, y.record))
        found(difference::mismatched, x.record.id, &x.record);
      a.buf.pop_front();
      b.buf.pop_front();
      ++r.source_count;
      ++r.target_count;
    }
  }
  if (!sides.on_source) r.collection_problem = "does not exist on the source";
  if (!sides.on_target) r.collection_problem = "does not exist on the target";
  return r;
}

verify_report compare_cache(caf::actor_system& sys,
                            const cache_store_actor& source,
                            const cache_store_actor& target, std::uint32_t page,
                            std::chrono::milliseconds tolerance,
                            const std::string& source_name,
                            const std::string& target_name,
                            const key_visitor& visit) {
  caf::scoped_actor self{sys};
  verify_report r;
  auto found = [&](difference d, const std::string& key) {
    note(r, d, key);
    if (visit) visit(d, key);
  };
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
                   if (!expiring(expiry)) found(difference::extra, e.key);
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
               bool same =
                   same_expiry && k.digest == entry_digest(e.key, e.value);
               // Both copies about to expire: soon gone from both sides.
               if (!same && !(expiring(k.expiry) && expiring(expiry)))
                 found(difference::mismatched, e.key);
             });
  for (auto& [key, k] : keys)
    if (!k.seen && !expiring(k.expiry)) found(difference::missing, key);
  return r;
}

std::string describe(const verify_report& r, const std::string& what) {
  std::string out = what;
  if (!r.collection_problem.empty()) out += " " + r.collection_problem;
  std::string parts;
  std::size_t budget = id_sample::max_named;
  for (auto d :
       {difference::missing, difference::extra, difference::mismatched}) {
    auto& s = r.of(d);
    if (s.count == 0) continue;
    parts += (parts.empty() ? "" : ", ") + std::to_string(s.count) + " " +
             to_string(d) + " (" + name_ids(s, budget) + ")";
  }
  if (!parts.empty()) out += ": " + parts;
  // "of 0 on the source" after "does not exist on the source" reads wrong.
  out += r.collection_problem.empty() ? " of " : "; ";
  return out + std::to_string(r.source_count) + " on the source and " +
         std::to_string(r.target_count) + " on the target";
}

void require_verified(const verify_report& r, const std::string& what) {
  // Every extra or missing id is counted, so no difference means the counts
  // agree too (bar keys that expired during the check).
  if (r.passed()) return;
  throw store_error(errc::verification_failed, describe(r, what), "verify");
}

}  // namespace storage
