// The mechanics both routers share: one generation of workers for one
// backend, the in-flight bound, per-request deadlines, least-loaded choice,
// key-hash routing, fan-out with merge, and respawning dead workers.
#pragma once

#include <algorithm>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "actors/pool_spec.hpp"
#include "messages/caf_support.hpp"

namespace storage {

template <class Backend, class Worker>
struct worker_pool {
  using spec_type = pool_spec<Backend>;
  spec_type spec;
  std::vector<Worker> workers;    // an invalid handle: respawn pending
  std::vector<std::size_t> load;  // requests in flight per worker
  std::vector<unsigned> crashes;  // recent deaths, for the backoff
  std::size_t rotor = 0;          // spreads ties between idle workers

  std::uint32_t size() const {
    return static_cast<std::uint32_t>(workers.size());
  }

  std::uint32_t owner(const std::string& key) const {
    return static_cast<std::uint32_t>(key_hash(key) % workers.size());
  }

  // The least-loaded live worker, ties spread round-robin.
  std::uint32_t least_loaded() {
    std::uint32_t best = 0;
    bool found = false;
    auto n = size();
    for (std::uint32_t j = 0; j < n; ++j) {
      auto i = static_cast<std::uint32_t>((rotor + j) % n);
      if (!workers[i]) continue;
      if (!found || load[i] < load[best]) best = i, found = true;
    }
    ++rotor;
    return best;
  }
};

// Splits `items` by the worker that owns each key; returns, per worker, the
// positions of its items in `items` (empty for workers with none).
template <class Pool, class Item, class KeyOf>
std::vector<std::vector<std::size_t>> partition(const Pool& pool,
                                                const std::vector<Item>& items,
                                                KeyOf key_of) {
  std::vector<std::vector<std::size_t>> out(pool.size());
  for (std::size_t i = 0; i < items.size(); ++i)
    out[pool.owner(key_of(items[i]))].push_back(i);
  return out;
}

template <class Item>
std::vector<Item> pick(const std::vector<Item>& items,
                       const std::vector<std::size_t>& positions) {
  std::vector<Item> out;
  out.reserve(positions.size());
  for (auto i : positions) out.push_back(items[i]);
  return out;
}

}  // namespace storage
