// A pool worker: one detached actor owning one adapter (one connection), so
// blocking I/O never stalls CAF's scheduler. It answers the store interface
// by calling its adapter; a store_error becomes the error reply.
#pragma once

#include <caf/fwd.hpp>

#include "actors/pool_spec.hpp"
#include "adapters/cache_backend.hpp"
#include "adapters/vector_backend.hpp"
#include "messages/interfaces.hpp"

namespace storage {

// Asks a worker to quit after the requests already in its mailbox.
using close_atom = caf::atom_constant<caf::atom("close")>;

using vector_worker_actor =
    vector_store_actor::extend<caf::reacts_to<close_atom>>;
using cache_worker_actor =
    cache_store_actor::extend<caf::reacts_to<close_atom>>;

vector_worker_actor spawn_vector_worker(caf::actor_system& sys,
                                        const pool_spec<vector_backend>& spec,
                                        std::uint32_t index);
cache_worker_actor spawn_cache_worker(caf::actor_system& sys,
                                      const pool_spec<cache_backend>& spec,
                                      std::uint32_t index);

}  // namespace storage
