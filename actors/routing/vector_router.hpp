// The handle callers hold for a vector store: validates each request, routes
// it to the pool (by id hash for writes, least-loaded for reads, or to every
// shard for in-process backends), can be swapped to another backend, and can
// be migrated live (runtime/live_migration.hpp drives the live_* messages).
#pragma once

#include "actors/live/live_protocol.hpp"
#include "actors/pool/store_worker.hpp"
#include "actors/routing/router_pool.hpp"

namespace storage {

using vector_router_actor = vector_store_actor::extend<
    caf::replies_to<swap_atom, std::string>::with<bool>,
    caf::replies_to<workers_atom>::with<std::vector<caf::actor>>,
    caf::reacts_to<respawn_atom, std::uint64_t, std::uint32_t>,
    caf::reacts_to<live_stall_atom, std::uint64_t>,
    // Starts dual-writing to the target URI; answers, once the target holds
    // them, the collections to backfill.
    caf::replies_to<live_begin_atom, std::string,
                    live_link>::with<std::vector<collection_spec>>,
    // Backfill: writes to the target the records not written live since.
    caf::replies_to<live_fill_atom, std::string, records>::with<std::uint64_t>,
    // (collection, after, repair) -> records compared on the source and on
    // the target, next cursor ("" = done), and the ids missing on the
    // target, extra there, and different (repaired when `repair`).
    caf::replies_to<live_verify_atom, std::string, std::string, bool>::with<
        std::uint64_t, std::uint64_t, std::string, ids, ids, ids>,
    // -> ids rechecked, ids left to recheck.
    caf::replies_to<live_recheck_atom>::with<std::uint64_t, std::uint64_t>,
    // The collections dropped since the migration began.
    caf::replies_to<live_verify_atom, vlist_atom>::with<ids>,
    // (verify) -> true once the target serves.
    caf::replies_to<live_cut_atom, bool>::with<bool>,
    // Aborts the migration `link` belongs to, not another one.
    caf::replies_to<live_abort_atom, live_link>::with<bool>,
    caf::replies_to<live_final_atom>::with<bool>,
    // The target's side, for the backfill's own reads and creates.
    caf::replies_to<live_target_atom, vcreate_atom,
                    collection_spec>::with<bool>,
    caf::replies_to<live_target_atom,
                    vlist_atom>::with<std::vector<collection_spec>>,
    caf::replies_to<live_target_atom, vcount_atom,
                    std::string>::with<std::uint64_t>,
    caf::replies_to<live_target_atom, vget_atom, std::string,
                    ids>::with<records>,
    caf::replies_to<live_target_atom, vscan_atom, std::string, std::string,
                    std::uint32_t>::with<scan_page>>;

// A store: the handle callers hold (the dispatcher) and the router behind
// it, which the runtime asks to swap or migrate the store.
struct vector_store_handles {
  vector_store_actor handle;
  vector_router_actor router;
  std::shared_ptr<route_table> table;  // the store's current deadline
};

// Throws store_error if make_pool(uri) does.
vector_store_handles spawn_vector_store(caf::actor_system& sys,
                                        pool_factory<vector_backend> make_pool,
                                        const std::string& uri);

}  // namespace storage
