// A pool worker: one detached actor owning one adapter (one connection), so
// blocking I/O never stalls CAF's scheduler. It answers the store interface
// by calling its adapter (actors/pool/request_exec.hpp); a store_error
// becomes the error reply, and a request whose deadline passed while it
// waited is answered timeout without running. The reply goes out from inside
// the handler, after which the worker may poll its mailbox a moment before
// its thread sleeps (actors/pool/worker_linger.hpp).
//
// A vector worker of an in-process shard (faiss://) holds an upsert that
// finds others waiting behind it and runs those that arrived back to back
// as one (actors/pool/upsert_group.hpp).
//
// A cache worker whose adapter can batch (capabilities().batching: Redis)
// runs a single-key request at once when nothing else waits in its mailbox,
// and otherwise collects the waiting requests and runs them as one batch,
// in arrival order (see actors/pool/cache_batch.hpp).
#pragma once

#include <caf/fwd.hpp>

#include "actors/pool/pool_spec.hpp"
#include "actors/pool/search_bound.hpp"
#include "actors/pool/worker_core.hpp"
#include "adapters/cache_backend.hpp"
#include "adapters/vector_backend.hpp"
#include "messages/interfaces.hpp"

namespace storage {

// Asks a worker to quit after the requests already in its mailbox.
using close_atom = caf::atom_constant<caf::atom("close")>;

// Runs a vector worker's held upserts (upsert_group.hpp); the worker sends
// it to itself, so it comes after every request that was already waiting.
using vflush_atom = caf::atom_constant<caf::atom("vflush")>;

// A shard's part of a search split across shards (search_bound.hpp) is
// the search with the bound its parts share.
using vector_worker_actor = vector_store_actor::extend<
    caf::reacts_to<close_atom>, caf::reacts_to<vflush_atom>,
    caf::replies_to<vsearch_atom, std::string, search_request,
                    search_bound_ptr>::with<std::vector<search_hit>>>;
// Runs a cache worker's pending batch; the worker sends it to itself, so it
// comes after every request that was already waiting.
using cflush_atom = caf::atom_constant<caf::atom("cflush")>;
// Asks a cache worker for (single-key requests, adapter calls for them):
// fewer calls than requests means requests were batched. A request a
// caller ran on its own thread counts as one of each.
using wstats_atom = caf::atom_constant<caf::atom("wstats")>;

using cache_worker_actor = cache_store_actor::extend<
    caf::reacts_to<close_atom>, caf::reacts_to<cflush_atom>,
    caf::replies_to<wstats_atom>::with<std::uint64_t, std::uint64_t>>;

// A worker and its core, which lets a caller run a request itself while
// the worker is idle (see actors/pool/worker_core.hpp).
template <class Worker>
struct spawned_worker {
  Worker actor;
  std::shared_ptr<inline_runner> runner;
};

spawned_worker<vector_worker_actor> spawn_vector_worker(
    caf::actor_system& sys, const pool_spec<vector_backend>& spec,
    std::uint32_t index);
spawned_worker<cache_worker_actor> spawn_cache_worker(
    caf::actor_system& sys, const pool_spec<cache_backend>& spec,
    std::uint32_t index);

}  // namespace storage
