// Records often share their metadata (a category, a source, a tenant):
// equal maps are kept once, so a million records in ten buckets cost ten
// maps, not a million (~150 bytes each). When most maps turn out distinct,
// interning stops paying for its table and stops. Private to the
// faiss_store library.
#pragma once

#include <cstddef>
#include <memory>
#include <unordered_map>
#include <vector>

#include "messages/value.hpp"

namespace storage::faiss_detail {

class metadata_pool {
 public:
  // The one shared copy of `m` (null for an empty map).
  std::shared_ptr<const metadata> intern(metadata&& m);

 private:
  static std::size_t hash(const metadata& m);
  void purge();

  std::unordered_map<std::size_t, std::vector<std::weak_ptr<const metadata>>>
      by_hash_;
  std::size_t entries_ = 0;  // weak pointers held, some maybe expired
  std::size_t calls_ = 0;
  std::size_t purge_at_ = 1024;
  bool given_up_ = false;
};

}  // namespace storage::faiss_detail
