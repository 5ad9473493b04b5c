// CAF's work-stealing scheduler with one change: how an idle thread waits.
//
// CAF 0.17's idle thread polls briefly (100 attempts, a few µs) and then
// sleeps on a condition variable; a job enqueued from outside the scheduler
// (every reply of a pool worker, which runs on its own thread) then costs a
// kernel wake-up, ~13-50 µs on this VM, and goes to the threads in turn
// whether they sleep or not. An actor waiting for a Redis reply (~15-40 µs)
// paid more for the wake-up than for Redis.
//
// Here an idle thread that finds nothing spins for up to `spin_for` more
// before it sleeps, and jobs from outside go to the spinning thread, which
// takes them without a wake-up, when all of these hold: jobs come back to
// back (its last two waits were shorter than `hot_wait`), it ran one job since
// it was last idle (one actor's ping-pong, not a burst of many callers'), at
// most one request is in flight in the process (requests_in_flight()), no
// other thread spins, and STORAGE_SPIN is not 0. With many callers the
// cores have work and a spinning thread took from it (measured: -5 to -25%
// throughput with 16-32 actor callers before the last three gates); under
// sparse traffic no thread spins, so an idle runtime costs no more CPU than
// before. runtime_options::poll_attempts still sets CAF's short poll first.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>

#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/scheduler/worker.hpp>

#include "actors/pool/pool_gauge.hpp"
#include "actors/pool/spin_wait.hpp"

namespace storage {

class spinning_stealing : public caf::policy::work_stealing {
 public:
  using base = caf::policy::work_stealing;
  using clock = std::chrono::steady_clock;

  // Longer than a Redis round trip on a loaded VM (~45-55 us): with 50 us the
  // reply came after the spin had ended in about half the processes, which
  // then paid a wake-up per call (BENCHMARKS.md, "A spin that outlasts the
  // round trip").
  static constexpr auto spin_for = std::chrono::microseconds(150);
  static constexpr auto hot_wait = std::chrono::microseconds(200);
  static constexpr std::size_t nobody = static_cast<std::size_t>(-1);

  struct coordinator_data : base::coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator* p)
        : base::coordinator_data(p) {}
    // The id of the thread that spins, or nobody.
    std::atomic<std::size_t> spinner{nobody};
  };

  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    auto s = self->data().spinner.load(std::memory_order_acquire);
    // If it stopped spinning meanwhile, external_enqueue wakes it.
    if (s != nobody)
      self->worker_by_id(s)->external_enqueue(job);
    else
      base::central_enqueue(self, job);
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    auto& data = d(self);
    auto& poll = data.strategies[0];  // CAF's aggressive phase
    for (std::size_t i = 0; i < poll.attempts; i += poll.step_size) {
      auto job = data.queue.take_head();
      if (!job && i % poll.steal_interval == 0) job = try_steal(self);
      if (job) {
        ++ran_;
        return job;
      }
    }
    // Idle. Only a thread that ran one job since it was last idle (one
    // actor's request and reply, ping-pong) spins: a thread that ran a
    // burst serves many callers, and the other threads may need the cores.
    bool alone = ran_ <= 1;
    ran_ = 1;  // the job spin() or sleep() returns
    if (alone)
      if (auto job = spin(self)) return job;
    return sleep(self);
  }

 private:
  template <class Worker>
  caf::resumable* spin(Worker* self) {
    // More than the one request this thread's actor may be waiting for is
    // in flight: the cores have work, spinning would take from it.
    if (short_waits_ < 2 || requests_in_flight() > 1 || !spinning_enabled())
      return nullptr;
    auto& spinner = self->parent()->data().spinner;
    auto expected = nobody;
    if (!spinner.compare_exchange_strong(expected, self->id(),
                                         std::memory_order_acquire))
      return nullptr;
    unsigned polls = 0;
    auto job = spin_until(
        [&]() -> caf::resumable* {
          if (auto j = d(self).queue.take_head()) return j;
          return ++polls % 64 == 0 ? try_steal(self) : nullptr;
        },
        spin_for);
    spinner.store(nobody, std::memory_order_release);
    short_waits_ = job != nullptr ? short_waits_ : 0;
    // A job sent to this thread after its last look is in its queue, and
    // sleep() looks there first.
    return job;
  }

  // CAF's relaxed phase: sleep until a job comes, and every few timeouts
  // try to steal one. Measures the wait, to decide whether to spin next time.
  template <class Worker>
  caf::resumable* sleep(Worker* self) {
    auto& data = d(self);
    auto& relaxed = data.strategies[2];
    auto& wait = data.waitdata;
    auto start = clock::now();
    caf::resumable* job = nullptr;
    for (std::size_t i = 1; job == nullptr; ++i) {
      bool woken;
      {
        std::unique_lock<std::mutex> guard(wait.lock);
        wait.sleeping = true;
        woken = wait.cv.wait_for(guard, relaxed.sleep_duration,
                                 [&] { return !data.queue.empty(); });
        wait.sleeping = false;
      }
      if (woken)
        job = data.queue.take_head();
      else if (i % relaxed.steal_interval == 0)
        job = try_steal(self);
    }
    bool short_wait = clock::now() - start < hot_wait;
    short_waits_ = short_wait ? std::min(short_waits_ + 1, 2) : 0;
    return job;
  }

  // How many of this thread's last waits were short, up to 2 (one short
  // wait follows every request of a caller that asks once a millisecond).
  // Each scheduler thread has its own policy object
  // (caf::scheduler::worker), so no sharing.
  int short_waits_ = 0;
  // Jobs this thread ran since it was last idle.
  std::size_t ran_ = 0;
};

}  // namespace storage
