// A pool worker that has just answered and found its mailbox empty would
// put its thread to sleep, and the next request would pay a kernel wake-up
// (~13-50 us here) before it started: on Redis and SQLite that was most of
// the actor path's gap to direct use. While requests come back to back
// (the last one arrived less than `linger_for` after the worker went idle)
// and no other request is in flight in the process, the worker instead
// polls its mailbox for up to `linger_for` before it sleeps.
//
// Spinning pays only with a core to spare: with many requests in flight
// the cores are busy and a spinning thread takes time from those doing the
// work (measured: -5 to -25% throughput with 16-32 actor callers when
// every idle thread spun). Hence the gate on requests_in_flight(), which
// CAF's scheduler threads use too (runtime/spinning_stealing.hpp), and one
// lingering worker at a time. Sparse traffic never lingers: an idle store
// costs no CPU.
#pragma once

#include <chrono>

#include <caf/scheduled_actor.hpp>

#include "actors/pool/job.hpp"

namespace storage {

class worker_linger {
 public:
  static constexpr auto linger_for = std::chrono::microseconds(30);

  // A request arrived at `arrived` (the ticket's start; zero: unknown).
  void on_request(deadline_clock::time_point arrived) {
    if (idle_since_ == deadline_clock::time_point{}) return;
    if (arrived == deadline_clock::time_point{})
      arrived = deadline_clock::now();
    hot_ = arrived - idle_since_ < linger_for;
    idle_since_ = {};
  }

  // The reply is out: wait a moment for the next request if it is likely
  // to come soon. Never call it holding a lock a caller might want.
  void after_reply(caf::scheduled_actor* self);

 private:
  bool hot_ = false;
  // When the worker last went idle without lingering (zero: not idle).
  deadline_clock::time_point idle_since_{};
};

}  // namespace storage
