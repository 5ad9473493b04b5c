#include "actors/pool/worker_linger.hpp"

#include <atomic>

#include "actors/pool/pool_gauge.hpp"
#include "actors/pool/spin_wait.hpp"

namespace storage {

namespace {

// Taken by the worker that lingers; the others sleep as before.
std::atomic<bool> someone_lingers{false};

}  // namespace

void worker_linger::after_reply(caf::scheduled_actor* self) {
  auto& box = self->mailbox();
  if (!box.empty()) return;  // not idle: the next request is there
  if (hot_ && requests_in_flight() == 0 && spinning_enabled() &&
      !someone_lingers.exchange(true, std::memory_order_acquire)) {
    hot_ = spin_until([&] { return !box.empty(); }, linger_for);
    someone_lingers.store(false, std::memory_order_release);
    if (hot_) return;
  }
  idle_since_ = deadline_clock::now();
}

}  // namespace storage
