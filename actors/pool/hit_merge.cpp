#include "actors/pool/hit_merge.hpp"

#include <algorithm>

#include "messages/distance.hpp"

namespace storage {

hits merge_hits(std::vector<hits>& parts, std::uint32_t k) {
  hits all;
  for (auto& p : parts)
    for (auto& h : p) all.push_back(std::move(h));
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return closer(a.distance, a.id, b.distance, b.id);
  });
  if (all.size() > k) all.resize(k);
  return all;
}

batch_hits merge_batch_hits(std::vector<batch_hits>& parts, std::size_t queries,
                            std::uint32_t k) {
  batch_hits out(queries);
  std::vector<hits> per_query(parts.size());
  for (std::size_t q = 0; q < queries; ++q) {
    for (std::size_t p = 0; p < parts.size(); ++p)
      per_query[p] = q < parts[p].size() ? std::move(parts[p][q]) : hits{};
    out[q] = merge_hits(per_query, k);
  }
  return out;
}

}  // namespace storage
