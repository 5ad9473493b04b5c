#include "actors/migration/migration_repair.hpp"

#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>

#include "actors/migration/migration_pipeline.hpp"
#include "messages/caf_support.hpp"

namespace storage {

namespace {

std::int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::size_t approx_bytes(const vector_record& r) {
  std::size_t n = r.id.size() + r.embedding.size() * sizeof(float) + 64;
  if (r.document) n += r.document->size();
  return n + r.metadata.size() * 32;
}

}  // namespace

repair_outcome repair_collection(caf::actor_system& sys,
                                 const vector_store_actor& source,
                                 const vector_store_actor& target,
                                 const std::string& collection,
                                 const migration_options& opts) {
  caf::scoped_actor self{sys};
  auto batch = std::max<std::uint32_t>(1, opts.batch);
  repair_outcome out;
  std::vector<vector_record> upserts;
  std::size_t upsert_bytes = 0;
  std::vector<std::string> removals;
  auto flush_upserts = [&] {
    if (upserts.empty()) return;
    out.written += blocking_request<std::uint64_t>(
        self, target, "repair", opts.target_name, vupsert_atom::value,
        collection, std::move(upserts));
    upserts.clear();
    upsert_bytes = 0;
  };
  auto flush_removals = [&] {
    if (removals.empty()) return;
    // The comparison saw these only on the target; one the source holds by
    // now is no extra, and removing it would lose a record.
    auto held =
        blocking_request<records>(self, source, "repair", opts.source_name,
                                  vget_atom::value, collection, removals);
    std::unordered_set<std::string> keep;
    for (auto& r : held) keep.insert(r.id);
    std::vector<std::string> gone;
    for (auto& id : removals)
      if (!keep.count(id)) gone.push_back(id);
    removals.clear();
    if (gone.empty()) return;
    out.removed += blocking_request<std::uint64_t>(
        self, target, "repair", opts.target_name, vdelete_atom::value,
        collection, std::move(gone));
  };
  // Fixing ids behind both scan cursors as the merge passes them never
  // changes a page either side has still to deliver.
  out.found = compare_collection(
      sys, source, target, collection, batch, opts.source_name,
      opts.target_name,
      [&](difference d, const std::string& id, const vector_record* rec) {
        if (d == difference::extra) {
          removals.push_back(id);
          if (removals.size() >= batch) flush_removals();
          return;
        }
        std::optional<vector_record> copy = *rec;
        if (opts.transform) copy = opts.transform(std::move(*copy));
        if (!copy) return;  // the transform drops it: never copied
        upsert_bytes += approx_bytes(*copy);
        upserts.push_back(std::move(*copy));
        if (upserts.size() >= batch || upsert_bytes >= opts.batch_bytes)
          flush_upserts();
      });
  flush_upserts();
  flush_removals();
  return out;
}

repair_outcome repair_cache(caf::actor_system& sys,
                            const cache_store_actor& source,
                            const cache_store_actor& target,
                            const migration_options& opts) {
  caf::scoped_actor self{sys};
  auto page = std::max<std::uint32_t>(1, opts.batch);
  auto tol = opts.expiry_tolerance.count();
  repair_outcome out;
  std::unordered_map<std::string, difference> to_copy;
  std::vector<std::string> extras;
  out.found = compare_cache(sys, source, target, page, opts.expiry_tolerance,
                            opts.source_name, opts.target_name,
                            [&](difference d, const std::string& key) {
                              if (d == difference::extra)
                                extras.push_back(key);
                              else
                                to_copy.emplace(key, d);
                            });
  // The values and expiries, read again from the source: the comparison
  // kept only digests.
  std::string cursor;
  while (!to_copy.empty()) {
    // Asked, not answered: a TTL read is what was left no earlier than
    // this, so the copy never outlives the source's key.
    auto read_at = now_unix_ms();
    auto p = blocking_request<cache_scan_page>(self, source, "repair",
                                               opts.source_name,
                                               cscan_atom::value, cursor, page);
    std::vector<cache_entry> batch;
    for (auto& e : p.entries) {
      auto it = to_copy.find(e.key);
      if (it == to_copy.end()) continue;
      auto kind = it->second;
      to_copy.erase(it);  // a Redis SCAN may repeat a key
      if (e.ttl) {
        auto left = read_at + *e.ttl - now_unix_ms();
        if (left <= 0) {
          // Gone from the source meanwhile: the target's copy is stale.
          if (kind == difference::mismatched) extras.push_back(e.key);
          continue;
        }
        // Not brought back to life: it expires within the tolerance, and
        // verification excuses a missing key that does.
        if (kind == difference::missing && left <= tol) continue;
        e.ttl = left;
      }
      batch.push_back(std::move(e));
    }
    if (!batch.empty()) {
      auto n = batch.size();
      blocking_request<bool>(self, target, "repair", opts.target_name,
                             cmset_atom::value, std::move(batch));
      out.written += n;
    }
    cursor = p.next_cursor;
    if (cursor.empty()) break;
  }
  // Left over: no longer on the source. A stale target copy goes too.
  for (auto& [key, kind] : to_copy)
    if (kind == difference::mismatched) extras.push_back(key);
  for (std::size_t at = 0; at < extras.size(); at += page) {
    auto end = std::min(extras.size(), at + page);
    ids chunk(extras.begin() + static_cast<std::ptrdiff_t>(at),
              extras.begin() + static_cast<std::ptrdiff_t>(end));
    // A key the source holds by now is no extra: never removed.
    auto held = blocking_request<std::vector<maybe_value>>(
        self, source, "repair", opts.source_name, cmget_atom::value, chunk);
    ids gone;
    for (std::size_t i = 0; i < chunk.size(); ++i)
      if (i >= held.size() || !held[i].found) gone.push_back(chunk[i]);
    if (gone.empty()) continue;
    out.removed += blocking_request<std::uint64_t>(
        self, target, "repair", opts.target_name, cdel_atom::value,
        std::move(gone));
  }
  return out;
}

}  // namespace storage
