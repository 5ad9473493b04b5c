// A router's pools over their lifetime: started with every worker
// monitored, a dead worker respawned with backoff (and counted and logged),
// the whole pool swapped for another backend's without a request
// overtaking an earlier one of its caller.
#pragma once

#include "actors/routing/router_core.hpp"
#include "adapters/storage_log.hpp"

namespace storage {

// Spawns a pool from `spec`, monitored by the router so a dead worker is
// respawned (see on_worker_down).
template <class Pool, class Self, class SpawnWorker>
std::shared_ptr<Pool> start_pool(Self* self, typename Pool::spec_type spec,
                                 SpawnWorker spawn_worker,
                                 std::shared_ptr<pool_gauge> gauge = nullptr) {
  auto pool = std::make_shared<Pool>();
  pool->spec = std::move(spec);
  pool->spec.metrics = self->state.table->metrics;
  for (std::uint32_t i = 0; i < pool->spec.size; ++i) {
    auto w = spawn_worker(self->system(), pool->spec, i);
    pool->workers.push_back(w.actor);
    pool->runners.push_back(w.runner);
    self->monitor(pool->workers.back());
  }
  pool->gauge = gauge ? std::move(gauge)
                      : std::make_shared<pool_gauge>(pool->spec.size,
                                                     pool->spec.max_inflight);
  pool->crashes.assign(pool->spec.size, 0);
  pool->born.assign(pool->spec.size, std::chrono::steady_clock::now());
  return pool;
}

using swap_atom = caf::atom_constant<caf::atom("swap")>;
using workers_atom = caf::atom_constant<caf::atom("workers")>;
using respawn_atom = caf::atom_constant<caf::atom("respawn")>;

// A current worker died: mark its slot empty (requests for it fail fast
// with backend_unavailable) and respawn it after a backoff that doubles with
// each death in a row. Workers of a replaced pool are ignored.
template <class Self>
void on_worker_down(Self* self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto& d = st.draining;
  if (auto it = std::find(d.begin(), d.end(), dm.source); it != d.end()) {
    d.erase(it);
    if (d.empty()) resume(self);  // the swapped-out pool is done
    return;
  }
  auto& pool = *st.pool;
  for (std::uint32_t i = 0; i < pool.size(); ++i) {
    if (!pool.workers[i] || pool.workers[i].address() != dm.source) continue;
    pool.workers[i] = std::decay_t<decltype(pool.workers[i])>{};
    if (std::chrono::steady_clock::now() - pool.born[i] >
        std::chrono::seconds(5))
      pool.crashes[i] = 0;
    auto n = std::min(++pool.crashes[i], 8u);
    auto delay = std::chrono::milliseconds(std::min(10 << (n - 1), 2000));
    auto& metrics = *st.table->metrics;
    metrics.respawned();
    metrics.respawn_log.note([store = pool.spec.store, i,
                              why = to_string(dm.reason),
                              after = delay.count()](std::uint64_t k) {
      storage_log()->warn(
          "store {}: worker {} stopped ({}); respawning it in {} ms ({} "
          "respawn(s) since the last report)",
          store, i, why, after, k);
    });
    self->delayed_send(self, delay, respawn_atom::value, st.generation, i);
    publish(self);
  }
}

template <class Self, class SpawnWorker>
void respawn_worker(Self* self, std::uint64_t generation, std::uint32_t i,
                    SpawnWorker spawn_worker) {
  auto& pool = *self->state.pool;
  if (generation != self->state.generation || pool.workers[i]) return;
  auto w = spawn_worker(self->system(), pool.spec, i);
  pool.workers[i] = w.actor;
  pool.runners[i] = w.runner;
  pool.born[i] = std::chrono::steady_clock::now();
  self->monitor(pool.workers[i]);
  publish(self);
}

// Replaces the pool with one for `uri`. Old workers finish what is already
// in their mailboxes, then quit; until they have, later requests wait in the
// router, so none overtakes an earlier request of its caller.
template <class Pool, class Self, class SpawnWorker, class Close>
caf::result<bool> swap_pool(Self* self, const std::string& uri,
                            SpawnWorker spawn_worker, Close close) {
  if (self->state.dual)
    return router_error(errc::conflict,
                        "a live migration is in progress; finalize or abort "
                        "it first",
                        "swap", self->state.pool->spec.store);
  try {
    auto spec = self->state.make_pool(uri);
    auto next = start_pool<Pool>(self, std::move(spec), spawn_worker);
    auto old = self->state.pool;
    self->state.set_pool(next);
    ++self->state.generation;
    for (auto& w : old->workers)
      if (w) self->state.draining.push_back(w.address());
    if (!self->state.draining.empty()) self->state.paused = true;
    // Routed through the router first: once publish returns, no caller can
    // still be handing a request to an old worker directly, so nothing lands
    // in its mailbox behind the close and bounces as "receiver down".
    publish(self);
    for (auto& w : old->workers)
      if (w) self->send(w, close);
    return true;
  } catch (const store_error& e) {
    return to_caf_error(e.with_context("swap", redact_uri(uri)));
  }
}

// The current workers, for supervision tests and diagnostics.
template <class Self>
std::vector<caf::actor> current_workers(Self* self) {
  std::vector<caf::actor> out;
  for (auto& w : self->state.pool->workers)
    out.push_back(caf::actor_cast<caf::actor>(w));
  return out;
}

}  // namespace storage
