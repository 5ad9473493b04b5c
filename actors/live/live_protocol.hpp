// The messages between a live migration's coordinator and the router it
// migrates, and the status they share. Local only: a live migration runs in
// the process that owns the store.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "messages/errors.hpp"

namespace storage {

// Atoms are at most 10 characters in CAF 0.17.
using live_begin_atom = caf::atom_constant<caf::atom("lbegin")>;
using live_fill_atom = caf::atom_constant<caf::atom("lbackfill")>;
using live_verify_atom = caf::atom_constant<caf::atom("lverify")>;
using live_recheck_atom = caf::atom_constant<caf::atom("lrecheck")>;
using live_cut_atom = caf::atom_constant<caf::atom("lcutover")>;
using live_abort_atom = caf::atom_constant<caf::atom("labort")>;
using live_final_atom = caf::atom_constant<caf::atom("lfinal")>;
using live_target_atom = caf::atom_constant<caf::atom("ltarget")>;
// The router to itself: has the throttle episode numbered so still held
// callers for the stall limit (dual_write.hpp, check_stall)?
using live_stall_atom = caf::atom_constant<caf::atom("lstall")>;

// The steps of a live migration as its journal records them
// (runtime/migration_journal.hpp). Before `cut_over` the source is
// authoritative, from `cut_over` on the target is, and `aborted` after a
// cutover hands authority back to the source.
enum class live_step {
  started,     // dual-writing; the target holds a partial copy
  backfilled,  // the copy is complete, verification still to come
  verified,    // the target equals the source
  cut_over,    // the target serves; writes are mirrored back to the source
  finalized,   // the target serves; the source gets nothing any more
  aborted,     // the source serves (before or after a cutover)
  failed,      // the source serves; the migration stopped on an error
};

const char* to_string(live_step s);

// Written by the router when the mirror side fails under live traffic
// (callers never see that error), read by the coordinator to say why it
// stopped.
class live_status {
 public:
  // The first failure wins; later ones are consequences of it.
  void fail(const store_error& e);
  std::optional<store_error> failure() const;

 private:
  mutable std::mutex mtx_;
  std::optional<store_error> failure_;
};

struct live_link {
  std::shared_ptr<live_status> status;
  // Records a step durably; throws store_error when it cannot. The router
  // calls it while writes are paused, before it moves authority (cutover,
  // abort after cutover, finalize), so a crash at any instant leaves a
  // journal naming a backend that holds every acknowledged write. Empty:
  // nothing is recorded (the step only lives in memory).
  std::function<void(live_step)> record;
};

}  // namespace storage

// Local only: carries a pointer, never crosses a node.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(storage::live_link)
