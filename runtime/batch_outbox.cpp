#include "runtime/batch_outbox.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>

#include "messages/caf_support.hpp"

namespace storage {

batch_outbox::batch_outbox(caf::actor_system& sys, caf::strong_actor_ptr to,
                           caf::strong_actor_ptr from)
    : sys_(sys), to_(std::move(to)), from_(std::move(from)) {}

void batch_outbox::add(caf::strong_actor_ptr actor, caf::message_id mid,
                       caf::message content, std::int64_t deadline_us) {
  {
    std::lock_guard<std::mutex> guard(mtx_);
    items_.push_back({std::move(actor), mid.integer_value(), std::move(content),
                      deadline_us});
    if (flush_posted_) return;
    flush_posted_ = true;
  }
  auto& mpx = sys_.middleman().backend();
  mpx.post([self = shared_from_this(),
            eu = static_cast<caf::execution_unit*>(&mpx)] { self->flush(eu); });
}

void batch_outbox::clear() {
  std::lock_guard<std::mutex> guard(mtx_);
  items_.clear();
}

void batch_outbox::flush(caf::execution_unit* mpx) {
  message_batch batch;
  {
    std::lock_guard<std::mutex> guard(mtx_);
    batch.items.swap(items_);
    flush_posted_ = false;
  }
  if (batch.items.empty()) return;  // cleared meanwhile
  batch.sent_us = wall_clock_us();
  to_->enqueue(caf::make_mailbox_element(from_, caf::make_message_id(), {},
                                         nbatch_atom::value, std::move(batch)),
               mpx);
}

}  // namespace storage
