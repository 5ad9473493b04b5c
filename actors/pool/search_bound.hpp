// The k closest hits a search split across shards has seen so far, shared
// by its parts. A part offers its shard's k closest and keeps only those
// still among the k closest of everything offered: a hit outside them now
// can never be in the merged answer, since each offer only moves the k-th
// closest nearer. A part then reads documents and embeddings for what it
// kept, so a search of n shards reads about k·(ln n + 0.6) documents, not
// k·n, and a shard that keeps nothing reads none (BENCHMARKS.md,
// "Documents of the winners only").
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include "adapters/vector_backend.hpp"

namespace storage {

class search_bound {
 public:
  explicit search_bound(std::uint32_t k) : k_(k) {}

  // Offers `hs` and erases from it the hits not among the k closest offered
  // so far (by distance, ties by id); keeps the order of the rest.
  void keep_contenders(std::vector<search_hit>& hs);
  // Whether k hits were offered: until then every hit offered is kept.
  bool full();

 private:
  std::mutex mtx_;
  std::uint32_t k_;
  std::vector<std::pair<double, std::string>> best_;  // closest first, <= k
};

using search_bound_ptr = std::shared_ptr<search_bound>;

// One shard's part of a split search, run by its worker under the shard's
// lock: the adapter's search without documents or embeddings, the bound's
// cut, then one read of what the kept hits asked for. The lock makes the
// two reads one view of the shard. A part that starts before k hits were
// offered is likely to keep most of its own, so it searches with documents
// at once and cuts after.
std::vector<search_hit> search_one_shard(vector_backend& b,
                                         const std::string& collection,
                                         const search_request& req,
                                         search_bound& bound);

}  // namespace storage

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(storage::search_bound_ptr)
