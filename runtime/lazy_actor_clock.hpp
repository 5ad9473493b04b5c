// CAF's clock for timeouts and delayed messages, with a thread that is woken
// only when it has to be.
//
// CAF 0.17's clock (thread_safe_actor_clock) wakes its thread for every
// event: each request sent with a timeout, each receive timeout an actor
// sets, each delayed message. An actor asking a store with
// request(handle, timeout, ...) woke a third thread per request besides the
// worker and itself, on a machine where a wake-up costs more than a SQLite
// read (measured: an actor's SQLite get at 35-46k/s with a timeout, 73-84k/s
// without). The router's own requests to workers carry a timeout too.
//
// Here an event wakes the thread only when it is due before the thread
// would wake anyway; everything else waits in a queue that the thread reads
// before it fires anything, so a cancellation still beats its timeout. While
// timers keep expiring, the thread fires them at most once per `tick`: a
// timer may then fire up to `tick` late (an idle clock's timer fires on
// time). A request's timeout is rarely what fires -- CAF 0.17 never cancels
// it when the response comes (only when the actor quits), so it fires later
// and the actor drops it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include <caf/detail/thread_safe_actor_clock.hpp>

namespace storage {

// Derived from CAF's thread-safe clock only because CAF's coordinator
// declares clock() with that return type; none of its queue is used.
class lazy_actor_clock : public caf::detail::thread_safe_actor_clock {
 public:
  static constexpr auto tick = std::chrono::milliseconds(1);
  // Events queued without a wake-up before the thread is woken to take them.
  static constexpr std::size_t max_queued = 4096;
  // An event that does not need the thread by any time (a cancellation).
  static constexpr time_point no_due = time_point::max();

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                            caf::atom_value type, std::uint64_t id) override;
  void set_request_timeout(time_point t, caf::abstract_actor* self,
                           caf::message_id id) override;
  void set_multi_timeout(time_point t, caf::abstract_actor* self,
                         caf::atom_value type, std::uint64_t id) override;
  void cancel_ordinary_timeout(caf::abstract_actor* self,
                               caf::atom_value type) override;
  void cancel_request_timeout(caf::abstract_actor* self,
                              caf::message_id id) override;
  void cancel_timeouts(caf::abstract_actor* self) override;
  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override;
  void schedule_message(time_point t, caf::group target,
                        caf::strong_actor_ptr sender,
                        caf::message content) override;
  void cancel_all() override;

  // The clock's thread: runs until stop().
  void run();
  void stop();

  // How often the thread went to sleep and woke up (tests).
  std::size_t wakeups() const { return wakeups_; }

 private:
  // `due`: when the event needs the thread (no_due: not before the next
  // wake-up it has anyway; time_point::min(): now).
  void push(event* e, time_point due);
  // Applies one queued event; false for the shutdown.
  bool apply(unique_event_ptr& e);

  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<unique_event_ptr> queue_;
  bool urgent_ = false;
  // When the sleeping thread wakes unless woken (time_point::min() while it
  // is awake: it reads the queue before it sleeps again).
  time_point wake_at_ = time_point::min();
  // It fires no timer before this: the last time it fired some, plus tick.
  time_point floor_ = time_point::min();
  std::atomic<std::size_t> wakeups_{0};
};

}  // namespace storage
