// A sender that is a plain thread about to wait for its reply: the future
// facade's per-thread reply sink (runtime/bridge.cpp). On a backend of short
// I/O calls (inline_policy::waiting_callers) such a caller may run its
// request on its own thread when the chosen worker is idle: the thread
// would otherwise only sleep until the worker answered.
#pragma once

#include <caf/all.hpp>

namespace storage {

class waiting_caller : public caf::monitorable_actor {
 public:
  using caf::monitorable_actor::monitorable_actor;
};

// Whether `sender` is a waiting_caller.
inline bool is_waiting_caller(const caf::strong_actor_ptr& sender) {
  return sender &&
         dynamic_cast<const waiting_caller*>(sender->get()) != nullptr;
}

}  // namespace storage
