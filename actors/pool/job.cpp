#include "actors/pool/job.hpp"

namespace storage {

job_element::job_element(caf::mailbox_element_ptr inner, job_ticket t)
    : caf::mailbox_element(std::move(inner->sender), inner->mid,
                           std::move(inner->stages)),
      ticket(std::move(t)),
      inner_(std::move(inner)) {}

caf::type_erased_tuple& job_element::content() {
  return inner_->content();
}

const caf::type_erased_tuple& job_element::content() const {
  return inner_->content();
}

caf::message job_element::move_content_to_message() {
  return inner_->move_content_to_message();
}

caf::message job_element::copy_content_to_message() const {
  return inner_->copy_content_to_message();
}

caf::mailbox_element_ptr make_job(caf::mailbox_element_ptr what, job_ticket t) {
  return caf::mailbox_element_ptr{
      new job_element(std::move(what), std::move(t))};
}

job_ticket take_ticket(caf::local_actor* self) {
  auto* e = dynamic_cast<job_element*>(self->current_mailbox_element());
  if (!e) return {};
  return std::move(e->ticket);
}

deadline_clock::time_point& dispatch_deadline_cap() {
  thread_local auto cap = deadline_clock::time_point::max();
  return cap;
}

caf::duration time_left(deadline_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - deadline_clock::now());
  return caf::duration{std::max(left, std::chrono::milliseconds(1))};
}

}  // namespace storage
