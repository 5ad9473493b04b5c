#include "adapters/faiss/faiss_store_ids.hpp"

#include <functional>
#include <stdexcept>

namespace storage::faiss_detail {

std::size_t slot_table::home(std::string_view id) const {
  return std::hash<std::string_view>{}(id) & (table_.size() - 1);
}

std::optional<std::size_t> slot_table::find(std::string_view id) const {
  if (table_.empty()) return std::nullopt;
  auto mask = table_.size() - 1;
  for (auto i = home(id);; i = (i + 1) & mask) {
    auto s = table_[i];
    if (s == empty) return std::nullopt;
    if (ids_[s] == id) return s;
  }
}

void slot_table::insert(std::size_t slot) {
  if (slot >= empty) throw std::length_error("more than 4 billion slots");
  if ((used_ + 1) * 2 > table_.size()) grow();
  auto mask = table_.size() - 1;
  auto i = home(ids_[slot]);
  while (table_[i] != empty) i = (i + 1) & mask;
  table_[i] = static_cast<std::uint32_t>(slot);
  ++used_;
}

// Backward-shift deletion keeps every probe chain unbroken without
// tombstones.
void slot_table::erase(std::string_view id) {
  if (table_.empty()) return;
  auto mask = table_.size() - 1;
  auto i = home(id);
  for (;; i = (i + 1) & mask) {
    if (table_[i] == empty) return;
    if (ids_[table_[i]] == id) break;
  }
  table_[i] = empty;
  --used_;
  for (auto j = (i + 1) & mask; table_[j] != empty; j = (j + 1) & mask) {
    auto h = home(ids_[table_[j]]);
    // Move j's entry into the hole at i unless its home lies cyclically in
    // (i, j], where the hole does not break its chain.
    bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (stays) continue;
    table_[i] = table_[j];
    table_[j] = empty;
    i = j;
  }
}

void slot_table::rebuild(const std::vector<std::uint8_t>& keep) {
  std::size_t n = 0;
  for (auto k : keep) n += k != 0;
  std::size_t cells = 16;
  while (cells < n * 2 + 2) cells *= 2;
  table_.assign(cells, empty);
  used_ = 0;
  for (std::size_t s = 0; s < keep.size(); ++s)
    if (keep[s]) insert(s);
}

void slot_table::grow() {
  std::vector<std::uint32_t> old;
  old.swap(table_);
  table_.assign(old.empty() ? 16 : old.size() * 2, empty);
  used_ = 0;
  for (auto s : old)
    if (s != empty) insert(s);
}

}  // namespace storage::faiss_detail
