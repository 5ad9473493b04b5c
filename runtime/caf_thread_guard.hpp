// CAF 0.17.6 gives every thread that spawns an actor, makes a scoped_actor
// or an actor_system a strong reference to that system's logger, kept in a
// thread-local until the thread exits, and ~actor_system waits until every
// one is gone. So a runtime destroyed while another thread that once called
// it lives on (a pool thread that opened a store, swapped one, asked a node)
// would wait forever. Each public entry point that may spawn holds one of
// these: the calling thread leaves without a reference it did not come with.
#pragma once

#include <caf/logger.hpp>

namespace storage {

class caf_thread_guard {
 public:
  caf_thread_guard() : before_(caf::logger::current_logger()) {}
  ~caf_thread_guard() {
    // CAF's own threads keep theirs (the same logger as before); an
    // application's thread had none.
    if (caf::logger::current_logger() != before_)
      caf::logger::set_current_actor_system(nullptr);
  }
  caf_thread_guard(const caf_thread_guard&) = delete;
  caf_thread_guard& operator=(const caf_thread_guard&) = delete;

 private:
  caf::logger* before_;
};

}  // namespace storage
