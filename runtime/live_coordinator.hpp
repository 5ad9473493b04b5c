// Internal to the runtime: starts a live migration's coordinator thread for
// a router (see live_migration.hpp for what it does).
#pragma once

#include "actors/cache_router.hpp"
#include "actors/vector_router.hpp"
#include "runtime/live_migration.hpp"

namespace storage {

// `source_name` and the redacted target name are how errors name the stores.
live_migration start_live_migration(caf::actor_system& sys,
                                    const vector_router_actor& router,
                                    std::string source_name,
                                    std::string target_uri, live_options opts);
live_migration start_live_migration(caf::actor_system& sys,
                                    const cache_router_actor& router,
                                    std::string source_name,
                                    std::string target_uri, live_options opts);

}  // namespace storage
