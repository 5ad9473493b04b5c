#include "runtime/lazy_actor_clock.hpp"

#include <algorithm>

namespace storage {

void lazy_actor_clock::set_ordinary_timeout(time_point t,
                                            caf::abstract_actor* self,
                                            caf::atom_value type,
                                            std::uint64_t id) {
  push(new ordinary_timeout(t, self->ctrl(), type, id), t);
}

void lazy_actor_clock::set_request_timeout(time_point t,
                                           caf::abstract_actor* self,
                                           caf::message_id id) {
  push(new request_timeout(t, self->ctrl(), id), t);
}

void lazy_actor_clock::set_multi_timeout(time_point t,
                                         caf::abstract_actor* self,
                                         caf::atom_value type,
                                         std::uint64_t id) {
  push(new multi_timeout(t, self->ctrl(), type, id), t);
}

void lazy_actor_clock::cancel_ordinary_timeout(caf::abstract_actor* self,
                                               caf::atom_value type) {
  push(new ordinary_timeout_cancellation(self->id(), type), no_due);
}

void lazy_actor_clock::cancel_request_timeout(caf::abstract_actor* self,
                                              caf::message_id id) {
  push(new request_timeout_cancellation(self->id(), id), no_due);
}

void lazy_actor_clock::cancel_timeouts(caf::abstract_actor* self) {
  push(new timeouts_cancellation(self->id()), no_due);
}

void lazy_actor_clock::schedule_message(time_point t,
                                        caf::strong_actor_ptr receiver,
                                        caf::mailbox_element_ptr content) {
  push(new actor_msg(t, std::move(receiver), std::move(content)), t);
}

void lazy_actor_clock::schedule_message(time_point t, caf::group target,
                                        caf::strong_actor_ptr sender,
                                        caf::message content) {
  push(new group_msg(t, std::move(target), std::move(sender),
                     std::move(content)),
       t);
}

void lazy_actor_clock::cancel_all() {
  push(new drop_all, no_due);
}

void lazy_actor_clock::stop() {
  // time_point::min(): due before any wake-up, so the thread is woken.
  push(new shutdown, time_point::min());
}

void lazy_actor_clock::push(event* e, time_point due) {
  std::lock_guard<std::mutex> guard(mtx_);
  queue_.emplace_back(e);
  if (urgent_) return;
  if (queue_.size() >= max_queued || std::max(due, floor_) < wake_at_ ||
      due == time_point::min()) {
    urgent_ = true;
    cv_.notify_one();
  }
}

void lazy_actor_clock::run() {
  std::vector<unique_event_ptr> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> guard(mtx_);
      if (queue_.empty() && !urgent_) {
        wake_at_ = schedule_.empty()
                       ? no_due
                       : std::max(schedule_.begin()->first, floor_);
        auto woken = [this] { return urgent_; };
        if (wake_at_ == no_due)
          cv_.wait(guard, woken);
        else
          cv_.wait_until(guard, wake_at_, woken);
        ++wakeups_;
      }
      urgent_ = false;
      wake_at_ = time_point::min();
      batch.swap(queue_);
    }
    for (auto& e : batch)
      if (!apply(e)) return;
    batch.clear();
    if (trigger_expired_timeouts() > 0) {
      std::lock_guard<std::mutex> guard(mtx_);
      floor_ = now() + tick;
    }
  }
}

// As CAF's thread_safe_actor_clock::run_dispatch_loop does it.
bool lazy_actor_clock::apply(unique_event_ptr& x) {
  switch (x->subtype) {
    case ordinary_timeout_cancellation_type:
      handle(static_cast<ordinary_timeout_cancellation&>(*x));
      break;
    case request_timeout_cancellation_type:
      handle(static_cast<request_timeout_cancellation&>(*x));
      break;
    case timeouts_cancellation_type:
      handle(static_cast<timeouts_cancellation&>(*x));
      break;
    case drop_all_type:
      schedule_.clear();
      actor_lookup_.clear();
      break;
    case shutdown_type:
      schedule_.clear();
      actor_lookup_.clear();
      return false;
    case ordinary_timeout_type:
      add_schedule_entry(std::unique_ptr<ordinary_timeout>{
          static_cast<ordinary_timeout*>(x.release())});
      break;
    case multi_timeout_type:
      add_schedule_entry(std::unique_ptr<multi_timeout>{
          static_cast<multi_timeout*>(x.release())});
      break;
    case request_timeout_type:
      add_schedule_entry(std::unique_ptr<request_timeout>{
          static_cast<request_timeout*>(x.release())});
      break;
    case actor_msg_type:
      add_schedule_entry(
          std::unique_ptr<actor_msg>{static_cast<actor_msg*>(x.release())});
      break;
    case group_msg_type:
      add_schedule_entry(
          std::unique_ptr<group_msg>{static_cast<group_msg*>(x.release())});
      break;
    default:
      break;
  }
  return true;
}

}  // namespace storage
