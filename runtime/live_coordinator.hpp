// Internal to the runtime: starts a live migration's coordinator thread for
// a router (see live_migration.hpp for what it does).
#pragma once

#include "actors/routing/cache_router.hpp"
#include "actors/routing/vector_router.hpp"
#include "runtime/live_migration.hpp"

namespace storage {

// What a live migration is started with besides its router.
struct live_start {
  std::string source_name;  // how errors name the store
  std::string target_uri;   // full; errors show it redacted
  live_options opts;
  // Records each step durably (migration_journal); empty: in memory only.
  std::function<void(live_step)> record;
  // The target holds what an earlier, unfinished run of this migration left
  // there: verification repairs differences instead of failing.
  bool repair = false;
};

live_migration start_live_migration(caf::actor_system& sys,
                                    const vector_router_actor& router,
                                    live_start how);
live_migration start_live_migration(caf::actor_system& sys,
                                    const cache_router_actor& router,
                                    live_start how);

}  // namespace storage
