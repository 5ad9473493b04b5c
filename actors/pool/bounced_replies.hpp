// An actor that answers callers must outlive a caller that does not take
// the answer. CAF 0.17 sends an unexpected message back to its sender as an
// error (print_and_drop), and a scheduled actor quits on an error message
// it gets outside a request (default_error_handler). So one caller that
// `send`s a request and has no handler for the reply would stop a worker --
// with every request queued in its mailbox -- or a router.
#pragma once

#include <caf/all.hpp>

#include "adapters/storage_log.hpp"

namespace storage {

template <class Self>
void survive_bounced_replies(Self* self) {
  self->set_error_handler([self](caf::error& err) {
    storage_log()->debug("{} dropped an error a caller sent back: {}",
                         self->name(), caf::to_string(err));
  });
}

}  // namespace storage
