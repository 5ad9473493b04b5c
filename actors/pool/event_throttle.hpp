// Operational events that can happen per request (a request turned away as
// overloaded, a failed reconnect) are logged at most once per interval:
// the first at once, later ones folded into a count that the next line
// reports. A log that grows with the load it describes helps nobody.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace storage {

class event_throttle {
 public:
  explicit event_throttle(
      std::chrono::steady_clock::duration interval = std::chrono::seconds(10))
      : interval_(interval) {}

  // Counts one event; returns how many to report (this one included) when
  // a line is due now, nullopt when it is folded into the next.
  std::optional<std::uint64_t> due() {
    std::lock_guard<std::mutex> guard(mtx_);
    ++folded_;
    auto now = std::chrono::steady_clock::now();
    if (now < next_) return std::nullopt;
    next_ = now + interval_;
    auto n = folded_;
    folded_ = 0;
    return n;
  }

 private:
  std::mutex mtx_;
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point next_{};
  std::uint64_t folded_ = 0;
};

}  // namespace storage
