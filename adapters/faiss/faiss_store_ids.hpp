// Which slot holds a record id: an open-addressing table of slot numbers
// whose keys are the ids in the collection's own id array, so each id is
// stored once. 8 bytes per record at the table's load of one half, where a
// std::unordered_map<std::string, size_t> spent ~80 and a second copy of the
// id. Private to the faiss_store library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace storage::faiss_detail {

class slot_table {
 public:
  // `ids` is the id of each slot; it must outlive the table.
  explicit slot_table(const std::vector<std::string>& ids) : ids_(ids) {}

  std::optional<std::size_t> find(std::string_view id) const;
  // Maps ids_[slot] to slot; the id must not be in the table.
  void insert(std::size_t slot);
  // Removes the id if present.
  void erase(std::string_view id);
  // Forgets everything and maps the slots whose `keep` is set.
  void rebuild(const std::vector<std::uint8_t>& keep);
  std::size_t size() const { return used_; }

 private:
  static constexpr std::uint32_t empty = 0xffffffffu;
  std::size_t home(std::string_view id) const;
  void grow();

  const std::vector<std::string>& ids_;
  std::vector<std::uint32_t> table_;  // slot numbers; empty marks a free cell
  std::size_t used_ = 0;
};

}  // namespace storage::faiss_detail
