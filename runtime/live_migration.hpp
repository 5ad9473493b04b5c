// Moving an open store to another backend while traffic continues
// (runtime::migrate_live), through the store's own router:
//
//   dual_write  writes and deletes go to the source (authoritative, answers
//               the caller) and are mirrored to the target in the source's
//               order; reads stay on the source, straight to its workers
//               while no write is held back. The router records the ids
//               each write touches. A mirrored cache TTL counts from when
//               the write went to the source, not from when the mirror
//               leaves, so the other side never keeps a key longer than the
//               source (a server that was paused counts from when it runs
//               the command, as for any client; one that expired on its
//               way is written with 1 ms left).
//   backfill    the migration pipeline copies the source through the
//               router's backfill path, which drops touched ids: a stale
//               copy never overwrites a newer write, a delete is never undone.
//               The target's collections are created without their
//               approximate index (pgvector's HNSW), which is built after
//               the copy on a connection of the migration's own while the
//               mirrors go on (vector_backend::build_index); abort()
//               cancels a build in progress (vector_backend::interrupt).
//   verify      both collection lists are compared (a collection missing on
//               the target fails unless the router saw the source drop it;
//               one only the target has is logged as a warning and shows
//               in the store after cutover: pgvector has no namespace, and
//               a shared database holds other stores' collections),
//               then page by page both sides' records, read while traffic
//               runs: a difference on an id no live write touched is real
//               and fails the migration (a rerun to the same target, which
//               the journal recognises, repairs it instead); ids written
//               since the start are compared again in chunks until what
//               traffic keeps rewriting is small. Writes never wait here.
//   cutover     writes pause; once every mirror landed, the ids left to
//               compare again must be equal on both sides; the cutover is
//               recorded and the pools trade places: the target serves, and
//               every write is mirrored back to the source (reverse
//               replication). The only pause callers see.
//
// Then the state is `done`. abort() switches back: the router waits until
// the source caught up, records the abort, and the source serves again with
// every acknowledged write. finalize() ends reverse replication and closes
// the source's connections. The source's data is kept as it was at that
// moment: deleting a backend's data is not something a library call should
// do irreversibly; drop it with the backend's own tools once you no longer
// want a way back (the journal tells which backend is authoritative).
//
// Any failure before cutover (the target unreachable or failing, a
// verification difference) ends dual-writing and leaves the source
// authoritative; callers never see an error caused by the migration. A
// target that stops answering (frozen, or far slower than measured) while
// the lag bound holds the store's callers counts as failing once it has
// held them for the stall limit -- a quarter of the store's timeout_ms, at
// least 1 s, at most half of it (dual_write.hpp, stall_limit) -- so a held
// caller waits that long at most, not until its deadline. A failure of the
// source after cutover ends reverse replication the same way (abort is then
// refused with `conflict`; the target keeps serving).
//
// cut_over, finalized and an abort after cutover are recorded in the
// migration journal (migration_journal.hpp) before the store acts on them;
// failed and an abort before cutover once the target is dropped (the
// source serves either way); verified only when verification runs. What a
// process restarted with its old configuration serves, by the last step
// recorded before the crash:
//   started, backfilled, verified, failed, aborted: the source, which holds
//     every acknowledged write; the target's partial copy stays where it is
//     and a new live migration to that target repairs it;
//   cut_over: the target, which holds every acknowledged write (writes are
//     only let through to it after the record is durable); the log says so.
//     Reverse replication does not survive the restart: the source misses
//     what is written after it;
//   finalized: the target, as above.
// A memory:// target ends with its process, so after a restart a cut_over
// to one serves the source, which reverse replication kept current (less
// what was still being mirrored back when the process died), and a
// finalized one serves the memory store, empty (migration_journal.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include "actors/migration/migration.hpp"

namespace storage {

enum class live_state {
  dual_write,
  backfill,
  verify,
  cutover,
  done,
  failed,
  aborted
};

const char* to_string(live_state s);

struct live_options {
  std::uint32_t batch = 500;  // records (or keys) per backfill batch
  bool verify = true;
  // Close the source pool right after cutover instead of waiting for
  // finalize().
  bool finalize = false;
};

struct live_progress {
  live_state state = live_state::dual_write;
  std::string collection;    // being copied or verified; empty for a cache
  std::uint64_t copied = 0;  // records (keys) written by the backfill
  std::uint64_t verified = 0;
  std::uint64_t total = 0;  // source records at the start (caches: 0)
  bool finalized = false;
  // After cutover, until finalize: the source still receives every write,
  // so abort() can switch back without losing one.
  bool mirroring_back = false;
  // How long writes waited at cutover (drain, final check, journal, switch),
  // measured around the router's answer: an upper bound.
  double cutover_ms = 0;
  double seconds = 0;  // since the start; frozen once done, failed or aborted
};

class live_migration {
 public:
  struct impl;
  explicit live_migration(std::shared_ptr<impl> p);

  live_state state() const;
  live_progress progress() const;
  // Ready after cutover; throws store_error when the migration failed or
  // was aborted before it. The result sums every collection (an abort after
  // cutover leaves it as it was; state() says where the store is).
  std::shared_future<migration_result> result() const;
  migration_result wait() const;

  // Ends reverse replication after cutover and closes the source's
  // connections; conflict before cutover.
  void finalize();
  // Before cutover: stops the migration, the source stays authoritative.
  // After cutover: switches the store back to the source, which received
  // every write (state becomes `aborted`). Returns once the source serves.
  // Refused with `conflict` after finalize() or once reverse replication
  // failed. A migration that already failed or was aborted: nothing.
  void abort();

  // Aborts if still running and waits for the coordinator thread; the
  // runtime calls it before it shuts down.
  void shutdown();

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace storage
