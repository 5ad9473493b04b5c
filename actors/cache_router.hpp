// The handle callers hold for a cache: validates each request and routes it
// to the pool — by key hash for writes (and for everything on in-process
// shards), least-loaded for reads on shared backends — and can be swapped.
#pragma once

#include "actors/router_core.hpp"
#include "actors/store_worker.hpp"

namespace storage {

using cache_router_actor = cache_store_actor::extend<
    caf::replies_to<swap_atom, std::string>::with<bool>,
    caf::replies_to<workers_atom>::with<std::vector<caf::actor>>,
    caf::reacts_to<respawn_atom, std::uint64_t, std::uint32_t>>;

// Throws store_error if make_pool(uri) does.
cache_router_actor spawn_cache_router(caf::actor_system& sys,
                                      pool_factory<cache_backend> make_pool,
                                      const std::string& uri);

}  // namespace storage
