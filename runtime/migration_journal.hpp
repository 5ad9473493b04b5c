// Where live migrations record their steps, so that a restarted process
// knows which backend holds a store's data. One small JSON file per source
// store, named by a hash of the store's identity, replaced atomically
// (written, synced, renamed, directory synced) at every step.
//
// What a restarted process does with it (runtime::open_vector/open_cache):
//   started, backfilled, verified, failed, aborted  -> serves `source_uri`;
//       the target may hold a partial copy, which a new live migration to
//       the same target repairs before it verifies;
//   cut_over, finalized                             -> serves `target_uri`,
//       and logs that it does.
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
  std::string source_identity;  // the store as configured (its identity)
  std::string source_uri;       // served before cutover and after an abort
  std::string target_uri;       // served after cutover
  live_step step = live_step::started;
  std::int64_t at_ms = 0;  // Unix time of the step, set by record()

  // The backend that holds every acknowledged write after this step.
  const std::string& authoritative() const;
};

// The state directory when none is configured: $STORAGE_STATE_DIR, else
// $XDG_STATE_HOME/storage-runtime, else ~/.local/state/storage-runtime.
std::string default_state_dir();

class migration_journal {
 public:
  // `state_dir` empty: default_state_dir(). The directory is created on the
  // first record.
  explicit migration_journal(std::string state_dir = {});

  // The entry for a store, if a live migration of it ever started. Throws
  // store_error (internal) when the file exists but cannot be read: guessing
  // which backend is authoritative could serve stale data.
  std::optional<journal_entry> find(const std::string& source_identity) const;

  // Replaces the store's entry; durable when it returns. Throws store_error
  // (internal) when it cannot write.
  void record(journal_entry e) const;

  // The file that holds a store's entry.
  std::string path_for(const std::string& source_identity) const;

 private:
  std::string dir_;
};

}  // namespace storage
