// Bounded spinning before a thread sleeps. On this VM waking a sleeping
// thread costs ~13-50 us, more than a Redis GET or a SQLite read; a thread
// that will most likely get work within microseconds (traffic is dense: its
// last wait was short) polls for it instead, for a bounded time. Who spins
// and for how long is decided by the callers (actors/pool/worker_linger.hpp
// for pool workers, runtime/spinning_stealing.hpp for CAF's scheduler
// threads); they let one thread per role spin at a time, so spinners never
// take every core of a small machine from the threads doing the work.
#pragma once

#include <chrono>
#include <cstdlib>
#include <cstring>

#include <sched.h>

namespace storage {

// False when the environment says STORAGE_SPIN=0: every idle thread then
// sleeps at once, as CAF's do (for a machine shared with other work, and
// for measuring what the spinning buys: BENCHMARKS.md).
inline bool spinning_enabled() {
  static const bool on = [] {
    auto v = std::getenv("STORAGE_SPIN");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }();
  return on;
}

// Tells the CPU this is a spin loop (x86 PAUSE): the sibling hyperthread
// and the memory system get the cycles.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls `ready` until it returns something true or `budget` has passed;
// returns the last result. The clock is read every 32 polls only. After
// the first polls it yields the core at each one: a thread woken on this
// core (the worker whose reply it waits for) runs at once.
template <class Ready>
auto spin_until(Ready ready, std::chrono::nanoseconds budget)
    -> decltype(ready()) {
  using clock = std::chrono::steady_clock;
  auto until = clock::now() + budget;
  for (unsigned i = 1;; ++i) {
    if (auto x = ready()) return x;
    if (i % 32 == 0 && clock::now() >= until) return ready();
    if (i > 64)
      sched_yield();
    else
      cpu_relax();
  }
}

}  // namespace storage
