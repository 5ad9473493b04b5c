// The handle callers hold for a vector store: validates each request, routes
// it to the pool (by id hash for writes, least-loaded for reads, or to every
// shard for in-process backends) and can be swapped to another backend.
#pragma once

#include "actors/router_core.hpp"
#include "actors/store_worker.hpp"

namespace storage {

using vector_router_actor = vector_store_actor::extend<
    caf::replies_to<swap_atom, std::string>::with<bool>,
    caf::replies_to<workers_atom>::with<std::vector<caf::actor>>,
    caf::reacts_to<respawn_atom, std::uint64_t, std::uint32_t>>;

// Throws store_error if make_pool(uri) does.
vector_router_actor spawn_vector_router(caf::actor_system& sys,
                                        pool_factory<vector_backend> make_pool,
                                        const std::string& uri);

}  // namespace storage
