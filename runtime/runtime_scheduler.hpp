// The CAF scheduler every runtime loads in place of CAF's own: CAF's
// work-stealing coordinator with two changes, each in its own file --
// idle threads that spin briefly while one caller goes back and forth
// (spinning_stealing.hpp) and a clock whose thread is woken only when a
// timer needs it (lazy_actor_clock.hpp). STORAGE_LAZY_CLOCK=0 in the
// environment keeps CAF's clock (for measuring what the lazy one buys).
#pragma once

#include <cstdlib>
#include <cstring>
#include <thread>

#include <caf/detail/set_thread_name.hpp>

#include "runtime/lazy_actor_clock.hpp"
#include "runtime/spinning_stealing.hpp"

namespace storage {

class runtime_scheduler final
    : public caf::scheduler::coordinator<spinning_stealing> {
 public:
  using base = caf::scheduler::coordinator<spinning_stealing>;

  explicit runtime_scheduler(caf::actor_system& sys) : base(sys) {}

  ~runtime_scheduler() override {
    if (timer_.joinable()) {
      clock_.stop();
      timer_.join();
    }
  }

  // The type CAF's coordinator declares; the lazy clock unless disabled.
  caf::detail::thread_safe_actor_clock& clock() noexcept override {
    if (lazy_) return clock_;
    return base::clock();
  }

 protected:
  // CAF's coordinator still starts its own clock's thread, which then
  // sleeps until stop() when the lazy clock is used.
  void start() override {
    if (lazy_)
      timer_ = std::thread([this] {
        caf::detail::set_thread_name("caf.clock");
        system().thread_started();
        clock_.run();
        system().thread_terminates();
      });
    base::start();
  }

  void stop() override {
    base::stop();
    if (timer_.joinable()) {
      clock_.stop();
      timer_.join();
    }
  }

 private:
  static bool lazy_clock_enabled() {
    auto v = std::getenv("STORAGE_LAZY_CLOCK");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }

  const bool lazy_ = lazy_clock_enabled();
  lazy_actor_clock clock_;
  std::thread timer_;
};

}  // namespace storage
