// Merging the scan pages a router gathers from its shards: both store kinds
// page in key order with "after this key" cursors between shards.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace storage {

// The smallest non-empty cursor, or "" when every one is empty (the end).
inline std::string lowest_cursor(const std::vector<const std::string*>& cs) {
  const std::string* low = nullptr;
  for (auto* c : cs)
    if (!c->empty() && (!low || *c < *low)) low = c;
  return low ? *low : std::string();
}

// One page of at most `limit` items in key order from every shard's page.
// A single page passes through with its own cursor (opaque on a shared
// backend, e.g. a Redis SCAN cursor). Otherwise the cursor is the last key
// kept — or, when every shard returned an empty page that is not its last
// (Chroma, when the ids it listed were removed before it fetched them), the
// smallest shard cursor, so the scan goes on rather than ending early.
template <class Page, class Items, class Key>
Page merge_scan_pages(std::vector<Page>& parts, std::uint32_t limit,
                      Items Page::*items, Key key) {
  if (parts.size() == 1) return std::move(parts.front());
  Page out;
  std::vector<const std::string*> cursors;
  for (auto& p : parts) {
    cursors.push_back(&p.next_cursor);
    for (auto& x : p.*items) (out.*items).push_back(std::move(x));
  }
  auto& all = out.*items;
  std::sort(all.begin(), all.end(),
            [&](const auto& a, const auto& b) { return key(a) < key(b); });
  auto next = lowest_cursor(cursors);
  if (all.size() > limit) {
    all.resize(limit);
    next = key(all.back());
  } else if (!next.empty() && !all.empty()) {
    next = key(all.back());
  }
  out.next_cursor = std::move(next);
  return out;
}

}  // namespace storage
