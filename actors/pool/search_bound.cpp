#include "actors/pool/search_bound.hpp"

#include <algorithm>

#include "messages/distance.hpp"
#include "messages/errors.hpp"

namespace storage {

void search_bound::keep_contenders(std::vector<search_hit>& hs) {
  if (k_ == 0) {
    hs.clear();
    return;
  }
  auto nearer = [](const std::pair<double, std::string>& a,
                   const std::pair<double, std::string>& b) {
    return closer(a.first, a.second, b.first, b.second);
  };
  std::lock_guard<std::mutex> guard(mtx_);
  for (auto& h : hs) {
    std::pair<double, std::string> x{h.distance, h.id};
    if (best_.size() == k_ && !nearer(x, best_.back())) continue;
    best_.insert(std::upper_bound(best_.begin(), best_.end(), x, nearer),
                 std::move(x));
    if (best_.size() > k_) best_.pop_back();
  }
  if (best_.size() < k_) return;  // fewer than k offered: all still count
  auto& kth = best_.back();
  hs.erase(std::remove_if(hs.begin(), hs.end(),
                          [&](const search_hit& h) {
                            return closer(kth.first, kth.second, h.distance,
                                          h.id);
                          }),
           hs.end());
}

bool search_bound::full() {
  std::lock_guard<std::mutex> guard(mtx_);
  return best_.size() == k_;
}

std::vector<search_hit> search_one_shard(vector_backend& b,
                                         const std::string& collection,
                                         const search_request& req,
                                         search_bound& bound) {
  if (!bound.full()) {
    auto found = b.search(collection, req);
    bound.keep_contenders(found);
    return found;
  }
  auto bare = req;
  bare.include.document = false;
  bare.include.embedding = false;
  auto found = b.search(collection, bare);
  bound.keep_contenders(found);
  if (found.empty() || !(req.include.document || req.include.embedding))
    return found;
  std::vector<std::string> ids;
  ids.reserve(found.size());
  for (auto& h : found) ids.push_back(h.id);
  auto rows = b.get(collection, ids);
  for (auto& h : found) {
    auto row =
        std::find_if(rows.begin(), rows.end(),
                     [&](const vector_record& r) { return r.id == h.id; });
    // The shard's lock is held since its search found the record.
    if (row == rows.end())
      throw store_error(errc::internal, "record '" + h.id +
                                            "' vanished between a shard's "
                                            "search and its read");
    if (req.include.document) h.document = std::move(row->document);
    if (req.include.embedding) h.embedding = std::move(row->embedding);
  }
  return found;
}

}  // namespace storage
