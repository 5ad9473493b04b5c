// The handle callers hold for a store. It is not an actor with a mailbox:
// like CAF's actor_pool, it decides in the caller's own thread, during
// enqueue, where a request goes, and hands the caller's message on without
// copying it. In the common case that is a worker, which answers the caller
// directly: two thread hand-offs per request and no actor every request of
// the store must pass in turn. While the store is being swapped or
// migrated, and for a whole-store operation or scan on several in-process
// shards, requests go to the router actor instead, which routes them the
// same way.
//
// Where requests go, and why order holds:
// - in-process shards (memory://, faiss://): the shard owning the key; a
//   search or count goes to every shard, a keyed batch to the shards
//   owning its ids, from here, and comes back merged (shard_scatter.hpp);
//   a request about a whole collection or store goes to the router, which
//   splits it across the shards -- and so do the caller's later requests
//   until the router has dispatched it, so none overtakes;
// - interchangeable workers (SQLite, Redis, PostgreSQL, Chroma): the worker
//   that still holds an unfinished request of the same caller, otherwise the
//   least loaded. A caller's requests are therefore never on two workers at
//   once, and a worker's mailbox is FIFO: they take effect in the order the
//   caller issued them, whole-store operations included.
// Every request gets the store's deadline (timeout_ms), a share of the
// pool's gauge (max_inflight) and its start time for the store's metrics;
// beyond the bound it fails at once with overloaded.
//
// During a live migration the router must see every write (it mirrors them
// in the source's order), but not the reads: while it neither pauses nor
// throttles writes, they go straight to the serving pool's workers by the
// rules above, and to the router only while it still holds an undispatched
// request of the same caller.
//
// When the chosen worker holds nothing else and its adapter is free, the
// caller runs the request itself, on its own thread, and the reply is sent
// as if from the worker: no hand-off at all. Who may is the worker's
// inline_policy: any caller on a backend that never blocks (memory://), a
// plain thread about to wait for the reply (the future facade; see
// waiting_caller.hpp) on a backend of short calls (Redis, SQLite,
// faiss://), and an actor on its own thread for a read that waits for no
// lock: a point read on SQLite, a faiss:// search of a collection in memory
// (inline_policy.hpp). Order holds the same way: the worker held nothing of
// the caller's, and the adapter's lock keeps the worker out until the
// request is done.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/pool/job.hpp"
#include "actors/pool/store_metrics.hpp"
#include "actors/pool/worker_core.hpp"

namespace storage {

// Where the dispatcher sends requests; published by the router.
struct route {
  // false: everything goes to the router, except reads if reads_direct.
  bool direct = false;
  // A live migration that holds no writes back: writes go to the router
  // (its mirror log orders them), reads straight to the serving pool's
  // workers -- unless the caller has a request the router has not
  // dispatched yet, which they would overtake.
  bool reads_direct = false;
  bool sharded = false;
  std::vector<caf::strong_actor_ptr> workers;           // null: being respawned
  std::vector<std::shared_ptr<inline_runner>> runners;  // one per worker
  std::shared_ptr<pool_gauge> gauge;
  std::chrono::milliseconds timeout{10000};
  std::string store;  // redacted, as errors name it
};

// Shared by a store's dispatcher and its router.
class route_table {
 public:
  // The store's counters, for as long as the store is open.
  const std::shared_ptr<store_metrics> metrics =
      std::make_shared<store_metrics>();

  // Before any request is dispatched: the router, once spawned.
  void set_router(caf::strong_actor_ptr router) { router_ = std::move(router); }

  std::shared_ptr<const route> current() const;

  // Every later request goes to the router.
  void via_router(std::shared_ptr<const route> r);
  // Requests go straight to r's workers from now on -- once no request
  // forwarded to the router is still undispatched (it would be overtaken).
  // Until then they keep going to the router; the switch happens when the
  // last such request has been taken (see taken()).
  void go_direct(std::shared_ptr<const route> r);
  // The router dispatched a request `caller` forwarded (sent it to its
  // workers, or answered it).
  void taken(caller_id caller);

  // The store closed: lets go of the route and the router (and with them
  // the workers, whose detached threads the actor system's shutdown waits
  // for), although a facade handle may keep this table. Later requests
  // are refused (request_receiver_down).
  void close();

  // A message that is not a store operation: to the router, as it is.
  void to_router(caf::mailbox_element_ptr what, caf::execution_unit* eu);

  // Sends one request, operation `op`, where the current route says (see
  // above). Called by the dispatcher on the caller's thread.
  void dispatch(caf::mailbox_element_ptr what, store_op op,
                caf::execution_unit* eu, const caf::strong_actor_ptr& self);

 private:
  mutable std::shared_mutex mtx_;
  // Completes a pending go_direct if nothing forwarded is outstanding.
  void try_switch();
  // Whether the router still holds an undispatched request of `caller`.
  bool routed_to_router(caller_id caller);

  std::shared_ptr<const route> route_;
  std::shared_ptr<const route> pending_;  // a go_direct waiting to happen
  std::atomic<bool> has_pending_{false};
  caf::strong_actor_ptr router_;
  std::atomic<std::size_t> forwarded_{0};
  // Per caller, the forwarded requests the router has not dispatched yet:
  // while there are any, that caller's requests all go to the router.
  std::mutex routed_mtx_;
  std::unordered_map<caller_id, std::uint32_t> routed_;
};

// Spawns the handle for a store whose router shares `table`.
caf::actor spawn_dispatcher(caf::actor_system& sys,
                            std::shared_ptr<route_table> table);

// Answers a request with `err` at once, from `self`, without a mailbox.
void reply_error(caf::mailbox_element& what, caf::error err,
                 const caf::strong_actor_ptr& self, caf::execution_unit* eu);

}  // namespace storage
