// One generation of workers for one backend, as the router sees it: the
// worker handles, the gauge they share with the dispatcher, and where a
// request about a key goes.
#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "actors/pool/pool_gauge.hpp"
#include "actors/pool/pool_spec.hpp"
#include "actors/pool/worker_core.hpp"
#include "messages/caf_support.hpp"

namespace storage {

template <class Backend, class Worker>
struct worker_pool {
  using spec_type = pool_spec<Backend>;
  // A target meaning "the worker that holds the caller's unfinished
  // requests, else the least loaded": where every request goes on a pool of
  // interchangeable workers (see store_dispatcher.hpp).
  static constexpr std::uint32_t by_caller = 0xFFFFFFFE;

  spec_type spec;
  std::vector<Worker> workers;  // an invalid handle: respawn pending
  // Each worker's core, for requests a caller runs itself (worker_core.hpp).
  std::vector<std::shared_ptr<inline_runner>> runners;
  std::shared_ptr<pool_gauge> gauge;
  std::vector<unsigned> crashes;  // recent deaths, for the backoff
  // When each worker started: one that ran for a while before it died
  // starts its backoff afresh (replies bypass the router, so it cannot
  // tell a healthy worker by its answers).
  std::vector<std::chrono::steady_clock::time_point> born;

  std::uint32_t size() const {
    return static_cast<std::uint32_t>(workers.size());
  }

  std::uint32_t owner(const std::string& key) const {
    return static_cast<std::uint32_t>(key_hash(key) % workers.size());
  }

  // Where a request about `key` goes: its shard, or the caller's worker.
  std::uint32_t for_key(const std::string& key) const {
    return spec.sharded ? owner(key) : by_caller;
  }

  // Resolves a target to a worker index and counts one request there for
  // `caller`; no_worker when that worker (or every one) is being restarted.
  std::uint32_t take(std::uint32_t target, caller_id caller) {
    if (target != by_caller) {
      if (!workers[target]) return pool_gauge::no_worker;
      gauge->assign(target);
      return target;
    }
    return gauge->place(caller,
                        [this](std::uint32_t i) { return bool(workers[i]); });
  }
};

// Splits `items` by the worker that owns each key; returns, per worker, the
// positions of its items in `items` (empty for workers with none). On a pool
// of interchangeable workers a batch is never split: everything goes to the
// caller's worker in one request (so it is atomic where the backend is), as
// the one part at position 0; see split_targets.
template <class Pool, class Item, class KeyOf>
std::vector<std::vector<std::size_t>> partition(const Pool& pool,
                                                const std::vector<Item>& items,
                                                KeyOf key_of) {
  if (!pool.spec.sharded) {
    std::vector<std::vector<std::size_t>> out(1);
    for (std::size_t i = 0; i < items.size(); ++i) out[0].push_back(i);
    return out;
  }
  std::vector<std::vector<std::size_t>> out(pool.size());
  for (std::size_t i = 0; i < items.size(); ++i)
    out[pool.owner(key_of(items[i]))].push_back(i);
  return out;
}

// The target of partition's part `i`.
template <class Pool>
std::uint32_t part_target(const Pool& pool, std::uint32_t i) {
  return pool.spec.sharded ? i : Pool::by_caller;
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
