// A request on its way to a worker carries a ticket: its deadline and its
// share of the pool's gauge. The ticket travels inside the mailbox element
// (job_element wraps the caller's element without copying its content), so
// the worker's handlers see the caller's message unchanged and the reply
// goes straight back to the caller.
#pragma once

#include <chrono>

#include <caf/all.hpp>

#include "actors/pool/pool_gauge.hpp"
#include "actors/pool/store_op.hpp"

namespace storage {

using deadline_clock = std::chrono::steady_clock;

struct job_ticket {
  deadline_clock::time_point deadline = deadline_clock::time_point::max();
  // When the caller handed the request to the store, for its latency in
  // the store's metrics; zero for what the store sends itself (a router's
  // parts of a request it answers, a migration's traffic): not counted.
  deadline_clock::time_point start{};
  // The operation, as the dispatcher found it; other: look at the message.
  store_op op = store_op::other;
  load_token token;
  caller_id caller = 0;  // who sent it, for the router's routing
  // A part of a caller's request (shard_scatter): its start stays zero,
  // since the request is counted once, but it is the caller's traffic.
  bool part = false;

  bool expired() const { return deadline_clock::now() >= deadline; }
  // A caller's request or a part of one, not what the store sends itself.
  bool from_caller() const {
    return part || start != deadline_clock::time_point{};
  }
};

class job_element final : public caf::mailbox_element {
 public:
  job_element(caf::mailbox_element_ptr inner, job_ticket t);

  caf::type_erased_tuple& content() override;
  const caf::type_erased_tuple& content() const override;
  caf::message move_content_to_message() override;
  caf::message copy_content_to_message() const override;

  job_ticket ticket;

 private:
  caf::mailbox_element_ptr inner_;
};

// `what` with `t` attached; same sender, id and content.
caf::mailbox_element_ptr make_job(caf::mailbox_element_ptr what, job_ticket t);

// Moves the ticket out of the message `self` is handling. A message that
// came without one (a test talking to a worker directly) gets no deadline
// and no share.
job_ticket take_ticket(caf::local_actor* self);

// A deadline that requests handed to a store on this thread must keep
// besides their store's own timeout_ms, until it is reset; max(): none. A
// serving node sets its client's around each request it hands on
// (runtime/node_inbox.cpp): the request's message has no room for it.
deadline_clock::time_point& dispatch_deadline_cap();

// Time left until `deadline`, at least 1 ms, as a CAF request timeout.
caf::duration time_left(deadline_clock::time_point deadline);

// self->request(worker, ..., xs...) with a ticket attached and the ticket's
// deadline as the request's timeout; the reply handle takes .then(...) as
// usual.
template <class Self, class Handle, class... Ts>
caf::response_handle<Self, caf::message, false> ask_worker(Self* self,
                                                           const Handle& worker,
                                                           job_ticket t,
                                                           Ts&&... xs) {
  auto timeout = time_left(t.deadline);
  auto mid = self->new_request_id(caf::message_priority::normal);
  auto inner =
      caf::make_mailbox_element(self->ctrl(), mid, {}, std::forward<Ts>(xs)...);
  auto dest = caf::actor_cast<caf::abstract_actor*>(worker);
  dest->enqueue(make_job(std::move(inner), std::move(t)), self->context());
  self->request_response_timeout(timeout, mid);
  return {mid.response_id(), self};
}

}  // namespace storage
