// Lets faiss_store's background threads (the loader, the snapshotter) take
// the store's mutex back ahead of callers after working without it.
//
// Why: std::mutex is not fair. A caller writing in a tight loop releases the
// mutex and takes it again before the background thread it woke gets to
// run, so a graph rebuild that needs the mutex between chunks waited for
// many writes per chunk, and under steady writes ran far longer than alone
// (the writes it must then catch up with grew meanwhile). With the
// turnstile a caller that finds a background thread waiting steps aside
// until it has the mutex: the thread waits for at most the one call in
// progress.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace storage::faiss_detail {

class turnstile {
 public:
  // Background: takes `lock` back, callers stepping aside meanwhile.
  void relock(std::unique_lock<std::mutex>& lock) {
    waiting_.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
    waiting_.fetch_sub(1, std::memory_order_relaxed);
    // Those who stepped aside go on once this thread releases the mutex.
    stepped_aside_.notify_all();
  }

  // Caller, holding `lock`: waits while a background thread wants it. The
  // count is read under the mutex's protection for the waiting, so a
  // thread that took the mutex and notified cannot be missed.
  void wait_turn(std::unique_lock<std::mutex>& lock) {
    stepped_aside_.wait(
        lock, [this] { return waiting_.load(std::memory_order_relaxed) == 0; });
  }

  // Whether a background thread waits for the mutex (a caller would step
  // aside).
  bool background_waiting() const {
    return waiting_.load(std::memory_order_relaxed) != 0;
  }

 private:
  std::atomic<int> waiting_{0};
  std::condition_variable stepped_aside_;
};

// Releases a held lock for a scope and takes it back through the turnstile
// on the way out (background threads only).
class unlocked {
 public:
  unlocked(std::unique_lock<std::mutex>& lock, turnstile& turn)
      : lock_(lock), turn_(turn) {
    lock_.unlock();
  }
  ~unlocked() { turn_.relock(lock_); }
  unlocked(const unlocked&) = delete;
  unlocked& operator=(const unlocked&) = delete;

 private:
  std::unique_lock<std::mutex>& lock_;
  turnstile& turn_;
};

}  // namespace storage::faiss_detail
