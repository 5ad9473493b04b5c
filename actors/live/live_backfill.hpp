// The target a live migration's pipeline writes to: a small actor that
// speaks the store interface and hands each write to the migrating router's
// backfill path (which drops ids written live since the start) and each read
// to the router's target pool. The pipeline (actors/migration/migration.hpp)
// thus copies the source without knowing a migration is live.
#pragma once

#include "actors/routing/cache_router.hpp"
#include "actors/routing/vector_router.hpp"

namespace storage {

vector_store_actor spawn_vector_backfill(caf::actor_system& sys,
                                         const vector_router_actor& router);
cache_store_actor spawn_cache_backfill(caf::actor_system& sys,
                                       const cache_router_actor& router);

}  // namespace storage
