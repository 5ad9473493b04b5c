// Repair: makes a target equal to its source where verification found them
// different, as a rerun of a migration does (migration.hpp). Missing and
// mismatched records (keys) are copied from the source again, extras are
// removed from the target. Only the target is ever written: the source is
// read, never changed.
//
// Removal is the dangerous half, so each id about to be removed is looked up
// on the source first and kept if the source holds it by then. A cache key
// the source drops within the expiry tolerance is not written: it would come
// back to life on the target only to expire, and verification excuses it.
#pragma once

#include <cstdint>
#include <string>

#include <caf/fwd.hpp>

#include "actors/migration/migration.hpp"
#include "actors/migration/migration_verifier.hpp"

namespace storage {

struct repair_outcome {
  std::uint64_t written = 0;  // records or keys copied again
  std::uint64_t removed = 0;  // removed from the target
  verify_report found;        // the comparison the repair acted on
};

// Walks both sides as compare_collection does and fixes each difference as
// it passes, a batch at a time (opts.batch records): memory stays two pages
// plus one batch. Records go through opts.transform as the pipeline's do.
repair_outcome repair_collection(caf::actor_system& sys,
                                 const vector_store_actor& source,
                                 const vector_store_actor& target,
                                 const std::string& collection,
                                 const migration_options& opts);

// Compares as compare_cache does, keeping the differing keys (memory
// O(differences) beside the comparison's O(keys)), then rereads the source
// for the values and expiries of the keys to copy.
repair_outcome repair_cache(caf::actor_system& sys,
                            const cache_store_actor& source,
                            const cache_store_actor& target,
                            const migration_options& opts);

}  // namespace storage
