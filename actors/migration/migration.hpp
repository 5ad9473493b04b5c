// Moving data between stores: a supervised reader -> transformer -> writer
// pipeline with credit-based backpressure (the writer pulls, at most
// `in_flight` batches are between reader and writer), checkpoints after each
// acknowledged batch, and verification by streamed per-record digests.
//
// Completion. The checkpoint records `copied_all` when the copy reaches the
// source's end and `completed` only once verification passed afterwards, so a
// run whose verification failed is not taken for done: its rerun repairs.
// Under `verify = false` the entry stays copied_all and not completed:
// completion promises that the target equals the source, which a run that
// compared nothing cannot (a scan that ended early would be vouched for).
// It costs nothing: a copied_all entry copies nothing more either, so the
// next verifying run only verifies (repairing if need be) and then records
// completion. A later run whose verification fails takes completion back.
//
// Repair. A rerun makes the target equal to the source where they differ:
// copies missing and mismatched records (keys) again and removes extras from
// the target (migration_repair.hpp), then verifies once more and fails only if
// that still differs. A run is a rerun only when its checkpoint file already
// holds the collection's entry: without a checkpoint, data on the target may
// be the user's own (a merge), so nothing is removed and a difference fails
// verification. A first run with a checkpoint onto a target holding other
// data only reports: it fails with verification_failed, and its rerun
// repairs.
//
// The pipeline talks to stores only through their typed actor handles, so the
// same code copies between any two backends, and live migration reuses it
// with a writer whose target is the migrating router's backfill path.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/interfaces.hpp"

namespace storage {

// What a run is doing. Only the copy moves `done`; the other steps can
// take as long (a pgvector index over many rows, a digest of every record).
enum class migration_phase { count, copy, index, verify };

// "count", "copy", "index", "verify".
const char* to_string(migration_phase p);

struct migration_progress {
  std::string collection;  // empty for a cache
  std::uint64_t done = 0;  // records (or keys) acknowledged by the target
  std::uint64_t total =
      0;  // source count at the start (an estimate for caches)
  double seconds = 0;
  migration_phase phase = migration_phase::copy;
};

struct migration_result {
  std::string collection;  // empty for a cache
  // Written by this run: the copy's records (keys) and a rerun's repair's.
  std::uint64_t copied = 0;
  // Records (keys) on each side, as verification counted them. Without
  // verification both sides of a vector store are counted; a cache has no
  // count, so its source_count is what the copy found live (over this run
  // and the runs it resumed) and its target_count a scan of the target's
  // keys (on Redis about as long as the copy takes).
  std::uint64_t source_count = 0;
  std::uint64_t target_count = 0;
  bool verified = false;  // false when verification was not asked for
  // Written or removed on the target by a rerun's repair.
  std::uint64_t repaired = 0;
  double seconds = 0;  // all of it, index build included
  // Building the target's approximate index after the copy (pgvector's
  // HNSW; ~0 where the index grows with the writes).
  double index_seconds = 0;
};

struct migration_options {
  std::uint32_t batch = 500;          // records per batch, at most
  std::size_t batch_bytes = 8 << 20;  // and about this many bytes
  // Batches between reader and writer; the writer has up to half of them
  // (at least one) written at once.
  std::uint32_t in_flight = 4;
  unsigned max_attempts = 5;               // restarts of a failed stage
  std::chrono::milliseconds backoff{200};  // doubled after each restart
  std::string checkpoint_file;             // empty: no checkpoint
  bool verify = true;
  // Build a created collection's approximate index after the copy, through
  // the target handle. A live migration builds it itself, on a connection
  // of its own: built through the handle it would hold the mirrors for the
  // whole build.
  bool build_index = true;
  // Builds that index on a connection of its own (vector_backend::
  // build_index) instead of as a request through the target handle, which
  // must end within the store's timeout_ms: an HNSW index over 20,000 rows
  // takes longer than the default 10 s here. Empty: through the handle.
  std::function<void(const std::string& collection)> index_builder;
  // Maps a record; nullopt drops it. Identity when empty.
  std::function<std::optional<vector_record>(vector_record)> transform;
  // Called about once per second for the whole run -- counting a cache's
  // keys, the copy, the index build, verification -- and at the end of the
  // copy, from an actor's thread or a thread of the run's own.
  std::function<void(const migration_progress&)> on_progress;
  // How errors and the checkpoint file name the two stores (redacted URIs or
  // store names). A checkpoint file written for other names is refused.
  std::string source_name = "source";
  std::string target_name = "target";
  // Cache verification: expiries this close count as equal.
  std::chrono::milliseconds expiry_tolerance{1000};
};

// Copies one collection, creating it on the target with the source's
// dimension and metric (conflict, before anything is written, if it exists
// there with another spec). A collection it creates gets its approximate
// index only after the copy (collection_spec::defer_index), built before
// verification (unless opts.build_index is false); the same step on a rerun
// builds an index an interrupted run left unbuilt. Blocks until done; throws
// store_error. A failed run with a checkpoint file resumes from the last
// acknowledged batch when called again with the same file; one that copied
// everything copies nothing and only verifies (and repairs, see above).
// verification_failed names the counts of missing, extra and mismatched ids and
// up to ten of each.
migration_result migrate_collection(caf::actor_system& sys,
                                    const vector_store_actor& source,
                                    const vector_store_actor& target,
                                    const std::string& collection,
                                    const migration_options& opts);

// Copies every live key of the source namespace, keeping each key's absolute
// expiry (a key that expires before it is written is not copied).
migration_result migrate_cache(caf::actor_system& sys,
                               const cache_store_actor& source,
                               const cache_store_actor& target,
                               const migration_options& opts);

}  // namespace storage
