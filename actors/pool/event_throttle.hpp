// Operational events that can happen per request (a request turned away as
// overloaded, a failed reconnect) are logged at most once per interval:
// the first at once, later ones folded into a count that the next line
// reports, or, if none comes, the throttle's last act when its store
// closes. A log that grows with the load it describes helps nobody.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

namespace storage {

class event_throttle {
 public:
  // Writes one line reporting `n` events.
  using line = std::function<void(std::uint64_t n)>;

  explicit event_throttle(
      std::chrono::steady_clock::duration interval = std::chrono::seconds(10))
      : interval_(interval) {}
  event_throttle(const event_throttle&) = delete;
  event_throttle& operator=(const event_throttle&) = delete;

  // Reports what was folded since the last line, with that line's words.
  ~event_throttle() {
    if (folded_ > 0 && last_) last_(folded_);
  }

  // Counts one event. When a line is due, calls `write` with how many to
  // report (this one included) and keeps it for the count at the end; a
  // folded event costs no allocation (`write` is made only if due: pass a
  // lambda, which converts to `line` on that path alone).
  template <class Write>
  void note(Write&& write) {
    std::unique_lock<std::mutex> guard(mtx_);
    ++folded_;
    auto now = std::chrono::steady_clock::now();
    if (now < next_) return;
    next_ = now + interval_;
    auto n = folded_;
    folded_ = 0;
    last_ = line(std::forward<Write>(write));
    auto report = last_;
    guard.unlock();
    report(n);
  }

 private:
  std::mutex mtx_;
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point next_{};
  std::uint64_t folded_ = 0;
  line last_;
};

}  // namespace storage
