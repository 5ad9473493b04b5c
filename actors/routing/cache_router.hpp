// The handle callers hold for a cache: validates each request and routes it
// to the pool — by key hash for writes (and for everything on in-process
// shards), least-loaded for reads on shared backends — can be swapped, and
// can be migrated live (runtime/live_migration.hpp drives the live_*
// messages).
#pragma once

#include "actors/live/live_protocol.hpp"
#include "actors/pool/store_worker.hpp"
#include "actors/routing/router_pool.hpp"

namespace storage {

using cache_router_actor = cache_store_actor::extend<
    caf::replies_to<swap_atom, std::string>::with<bool>,
    caf::replies_to<workers_atom>::with<std::vector<caf::actor>>,
    caf::reacts_to<respawn_atom, std::uint64_t, std::uint32_t>,
    caf::reacts_to<live_stall_atom, std::uint64_t>,
    // Starts dual-writing to the target URI.
    caf::replies_to<live_begin_atom, std::string, live_link>::with<bool>,
    // Backfill: writes to the target the keys not written live since.
    caf::replies_to<live_fill_atom,
                    std::vector<cache_entry>>::with<std::uint64_t>,
    // (from the target's side?, cursor, repair) -> keys compared on the
    // source and on the target, next cursor ("" = done), and the keys
    // missing on the target, extra there, and different (repaired when
    // `repair`).
    caf::replies_to<live_verify_atom, bool, std::string, bool>::with<
        std::uint64_t, std::uint64_t, std::string, ids, ids, ids>,
    // -> keys rechecked, keys left to recheck.
    caf::replies_to<live_recheck_atom>::with<std::uint64_t, std::uint64_t>,
    // (verify) -> true once the target serves.
    caf::replies_to<live_cut_atom, bool>::with<bool>,
    // Aborts the migration `link` belongs to, not another one.
    caf::replies_to<live_abort_atom, live_link>::with<bool>,
    caf::replies_to<live_final_atom>::with<bool>,
    // The target's side, for the backfill's own reads.
    caf::replies_to<live_target_atom, cget_atom,
                    std::string>::with<maybe_value>,
    caf::replies_to<live_target_atom, cexists_atom, std::string>::with<bool>,
    caf::replies_to<live_target_atom, cmget_atom,
                    ids>::with<std::vector<maybe_value>>,
    caf::replies_to<live_target_atom, cttl_atom, std::string>::with<ttl_info>,
    caf::replies_to<live_target_atom, cscan_atom, std::string,
                    std::uint32_t>::with<cache_scan_page>>;

// A store: the handle callers hold (the dispatcher) and the router behind
// it, which the runtime asks to swap or migrate the store.
struct cache_store_handles {
  cache_store_actor handle;
  cache_router_actor router;
  std::shared_ptr<route_table> table;  // the store's current deadline
};

// Throws store_error if make_pool(uri) does.
cache_store_handles spawn_cache_store(caf::actor_system& sys,
                                      pool_factory<cache_backend> make_pool,
                                      const std::string& uri);

}  // namespace storage
