// Moving an open store to another backend while traffic continues
// (runtime::migrate_live). Four steps, through the store's own router:
//
//   dual_write  writes and deletes go to the source (authoritative, answers
//               the caller) and are mirrored to the target; reads stay on
//               the source. The router records the ids each write touches.
//   backfill    the migration pipeline copies the source through the
//               router's backfill path, which drops touched ids: a stale
//               copy never overwrites a newer write, a delete is never undone.
//   verify      page by page, with writes held for one page, both sides are
//               read after every mirror landed and compared record by record.
//   cutover     writes are held until every mirror landed, then the router
//               switches to the target; callers keep their handles.
//
// Then the state is `done`: traffic is on the target, the source pool is kept
// read-only (nothing writes it) until finalize() closes it. Any failure
// before cutover — the target unreachable or failing mid-way, a verification
// difference — ends dual-writing, closes the target pool and leaves the source
// authoritative; callers never see an error caused by the migration.
//
// abort() before cutover does the same. After cutover it is refused with
// `conflict`: writes since cutover exist only on the target, so switching back
// would lose them (no reverse sync).
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include "actors/migration.hpp"

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
  double seconds = 0;
};

class live_migration {
 public:
  struct impl;
  explicit live_migration(std::shared_ptr<impl> p);

  live_state state() const;
  live_progress progress() const;
  // Ready after cutover; throws store_error when the migration failed or
  // was aborted. The result sums every collection.
  std::shared_future<migration_result> result() const;
  migration_result wait() const;

  // Closes the source pool after cutover; conflict before.
  void finalize();
  // Before cutover: stops the migration, the source stays authoritative;
  // returns once it has stopped. After cutover: conflict. A migration that
  // already failed or was aborted: nothing.
  void abort();

  // Aborts if still running and waits for the coordinator thread; the
  // runtime calls it before it shuts down.
  void shutdown();

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace storage
