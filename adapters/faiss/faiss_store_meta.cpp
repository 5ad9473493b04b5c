#include "adapters/faiss/faiss_store_meta.hpp"

#include <algorithm>
#include <functional>
#include <string>
#include <variant>

namespace storage::faiss_detail {

std::size_t metadata_pool::hash(const metadata& m) {
  std::size_t h = m.size();
  auto mix = [&h](std::size_t x) {
    h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  };
  for (auto& [key, value] : m) {
    mix(std::hash<std::string>{}(key));
    mix(value.index());
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (!std::is_same_v<T, std::monostate>)
            mix(std::hash<T>{}(v));
        },
        value);
  }
  return h;
}

std::shared_ptr<const metadata> metadata_pool::intern(metadata&& m) {
  if (m.empty()) return nullptr;
  if (given_up_) return std::make_shared<const metadata>(std::move(m));
  ++calls_;
  auto& same_hash = by_hash_[hash(m)];
  for (auto& weak : same_hash)
    if (auto have = weak.lock(); have && *have == m) return have;
  auto fresh = std::make_shared<const metadata>(std::move(m));
  same_hash.push_back(fresh);
  if (++entries_ >= purge_at_) purge();
  // Mostly distinct maps: the table would cost more than it saves.
  if (calls_ >= 4096 && entries_ * 2 > calls_) {
    given_up_ = true;
    by_hash_.clear();
  }
  return fresh;
}

void metadata_pool::purge() {
  entries_ = 0;
  for (auto it = by_hash_.begin(); it != by_hash_.end();) {
    auto& v = it->second;
    v.erase(
        std::remove_if(v.begin(), v.end(), [](auto& w) { return w.expired(); }),
        v.end());
    entries_ += v.size();
    it = v.empty() ? by_hash_.erase(it) : std::next(it);
  }
  purge_at_ = std::max<std::size_t>(1024, entries_ * 2);
  calls_ = entries_;  // judge the distinct share afresh from here
}

}  // namespace storage::faiss_detail
