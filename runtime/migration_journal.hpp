// Where live migrations record their steps, so that a restarted process
// knows which backend holds a store's data. One small JSON file per source
// store, named by a hash of the store's data identity (store_identity.hpp:
// a password, pool, timeout or bound changed in the configuration is still
// the same store), replaced atomically (written, synced, renamed, directory
// synced) at every step.
//
// What a restarted process does with it (runtime::open_vector/open_cache,
// through serving()):
//   started, backfilled, verified, failed, aborted  -> serves `source_uri`;
//       the target may hold a partial copy, which a new live migration to
//       the same target repairs before it verifies;
//   cut_over, finalized                             -> serves `target_uri`,
//       and logs that it does;
//   cut_over to memory://                           -> serves `source_uri`:
//       the memory target ended with the process that migrated to it,
//       while reverse replication kept the source current (less what was
//       still being mirrored back when that process died); the log says
//       so. finalized to memory:// serves the memory store, empty, as any
//       memory:// store is after a restart.
// A backend a store moved to may have moved on since (its own entry is
// newer): serving() follows such entries, newest last, so a store moved
// A -> B -> C opens on C, and one moved back (A -> B, later B -> A) opens
// on A whichever of the two the configuration names.
// The files hold the backends' full URIs (a restarted process must connect
// to them), so they are created readable by their owner only, like a config
// file with passwords; logs and errors only ever show redacted URIs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "actors/live/live_protocol.hpp"

namespace storage {

struct journal_entry {
  std::string source_identity;  // the store as configured (data_identity)
  std::string source_uri;       // served before cutover and after an abort
  std::string target_uri;       // served after cutover
  live_step step = live_step::started;
  std::int64_t at_ms = 0;  // Unix time of the step, set by record()

  // The backend that holds every acknowledged write after this step, as a
  // process that reads the entry later finds it: for cut_over to a
  // memory:// target (gone with its process) the source.
  const std::string& authoritative() const;
  // Whether the target is memory://, whose data ends with its process.
  bool in_memory_target() const;

  std::string file;  // where find() read it (not recorded)
};

// The state directory when none is configured: $STORAGE_STATE_DIR, else
// $XDG_STATE_HOME/storage-runtime, else ~/.local/state/storage-runtime,
// else (no $HOME) /tmp/storage-runtime-state.
std::string default_state_dir();

class migration_journal {
 public:
  // `state_dir` empty: default_state_dir(). The directory is created on the
  // first record.
  explicit migration_journal(std::string state_dir = {});

  // The entry for the store `source` (a URI) names, if a
  // live migration of it ever started. Throws store_error (internal) when
  // the file exists but cannot be read: guessing which backend is
  // authoritative could serve stale data.
  std::optional<journal_entry> find(const std::string& source) const;

  // The backend that holds the data of the store configured as `uri`: `uri`
  // itself unless a migration moved it; then the authoritative side of its
  // entry, followed through the newer entries of the backends it moved to
  // (see the top of this file). `last` is the entry that decided, if any.
  struct serving_backend {
    std::string uri;
    std::optional<journal_entry> last;
  };
  serving_backend serving(const std::string& uri) const;

  // Replaces the store's entry (and, when its source_uri is another store,
  // that store's too, see record()); durable when it returns. Throws
  // store_error (internal) when it cannot write.
  void record(journal_entry e) const;

  // The file that holds the entry of the store `uri` names.
  std::string path_for(const std::string& uri) const;

 private:
  std::string file_for(const std::string& key) const;

  std::string dir_;
};

}  // namespace storage
