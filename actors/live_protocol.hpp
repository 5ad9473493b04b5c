// The messages between a live migration's coordinator and the router it
// migrates, and the status they share. Local only: a live migration runs in
// the process that owns the store.
#pragma once

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
using live_cut_atom = caf::atom_constant<caf::atom("lcutover")>;
using live_abort_atom = caf::atom_constant<caf::atom("labort")>;
using live_final_atom = caf::atom_constant<caf::atom("lfinal")>;
using live_target_atom = caf::atom_constant<caf::atom("ltarget")>;

// Written by the router when the target fails under live traffic (callers
// never see that error), read by the coordinator to say why it stopped.
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
};

}  // namespace storage

// Local only: carries a pointer, never crosses a node.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(storage::live_link)
