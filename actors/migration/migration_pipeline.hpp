// The pieces of the migration pipeline and the protocol between them.
//
// CAF 0.17's streams buffer everything inside a stage (CAF issue #800, see
// PLATFORM-NOTES.md), so the stages speak a pull protocol of their own: the
// writer grants credit (`mpull`, n batches), the transformer passes it to the
// reader, and the reader never has more batches out than the credit it was
// given. The writer grants one more batch only after the target acknowledged
// one, so at most `in_flight` batches exist between reader and writer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/migration/migration.hpp"
#include "messages/caf_support.hpp"

namespace storage {

// (n): credit for n more batches, sent downstream -> upstream.
using mpull_atom = caf::atom_constant<caf::atom("mpull")>;
// (generation, records written, records read, cursor): a batch was
// acknowledged by the target and checkpointed.
using macked_atom = caf::atom_constant<caf::atom("macked")>;
// (generation): the writer acknowledged the last batch.
using mdone_atom = caf::atom_constant<caf::atom("mdone")>;
using mtick_atom = caf::atom_constant<caf::atom("mtick")>;
using mrestart_atom = caf::atom_constant<caf::atom("mrestart")>;

// What one batch carries. Vector batches fill `records`; cache batches fill
// `entries` with `expiry_ms` beside them, the absolute expiry (Unix ms, 0 =
// none) computed when the entry was read, so the writer can give each key the
// time it has left when it is written, however long the batch waited.
struct migration_batch {
  std::vector<vector_record> records;
  std::vector<cache_entry> entries;
  std::vector<std::int64_t> expiry_ms;
  // Where a restarted pipeline resumes once this batch is acknowledged.
  std::string cursor;
  // The source is exhausted after this batch.
  bool last = false;
};

// The two stores a pipeline connects: vector ones or cache ones. The stages
// talk to them only through these handles, so the target may be any actor
// speaking the interface (live migration passes its backfill actor).
struct pipeline_ends {
  bool cache = false;
  vector_store_actor vsource;
  vector_store_actor vtarget;
  cache_store_actor csource;
  cache_store_actor ctarget;
  std::string collection;   // empty for a cache
  std::string source_name;  // redacted, for errors and the checkpoint
  std::string target_name;
};

// Where a pipeline starts and what it has done before.
struct pipeline_start {
  std::string cursor;       // "" = the beginning
  std::uint64_t done = 0;   // acknowledged by earlier runs
  std::uint64_t total = 0;  // for progress
};

struct pipeline_outcome {
  std::uint64_t copied = 0;  // written by this run
  std::uint64_t done = 0;    // including earlier runs
};

// A request to a store never waits longer than this: routers answer within
// their own deadline, this only guards against one that vanished.
constexpr std::chrono::seconds migration_request_timeout{120};

caf::actor spawn_migration_reader(caf::actor_system& sys,
                                  const pipeline_ends& ends,
                                  const migration_options& opts,
                                  std::string cursor);
caf::actor spawn_migration_transformer(caf::actor_system& sys,
                                       caf::actor reader,
                                       const migration_options& opts);
caf::actor spawn_migration_writer(caf::actor_system& sys,
                                  const pipeline_ends& ends,
                                  const migration_options& opts,
                                  caf::actor upstream, caf::actor supervisor,
                                  std::uint64_t generation,
                                  std::uint64_t done_before);

// Runs the supervised pipeline until the source is exhausted, restarting it
// from the last checkpoint after a failure. Blocks; throws store_error once
// opts.max_attempts restarts in a row made no progress, or at once for
// invalid_argument and unsupported.
pipeline_outcome run_migration_pipeline(caf::actor_system& sys,
                                        const pipeline_ends& ends,
                                        const migration_options& opts,
                                        const pipeline_start& start);

// One request from a blocking caller, waited for; an error reply is thrown
// as a store_error naming `op` and `store`. For the few setup and
// verification requests per page, not for the pipeline's own traffic.
template <class Reply, class Handle, class... Ts>
Reply blocking_request(caf::scoped_actor& self, const Handle& dest,
                       const char* op, const std::string& store, Ts&&... xs) {
  Reply out{};
  caf::error failure;
  self->request(dest, migration_request_timeout, std::forward<Ts>(xs)...)
      .receive([&](Reply& r) { out = std::move(r); },
               [&](caf::error& e) { failure = std::move(e); });
  if (failure) throw from_caf_error(failure, op, store);
  return out;
}

// Turns a stage's exception into its exit reason, so the supervisor learns
// what failed instead of CAF printing it to stderr.
caf::error stage_exception(std::exception_ptr& eptr, const char* op,
                           const std::string& store);

}  // namespace storage

// Local only: batches never cross a node.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(storage::migration_batch)
