// Keeps a migration's progress reports coming while a step that reports
// nothing of its own runs (counting a cache's keys, building an index,
// verifying): CLI.md promises a progress line about every second, and a
// pgvector index or a digest of a large collection takes many seconds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "actors/migration/migration.hpp"

namespace storage {

class progress_ticker {
 public:
  using callback = std::function<void(const migration_progress&)>;

  // Reports `at` now and then once a second, `seconds` counted from
  // `began`, until destroyed. Does nothing when `report` is empty.
  progress_ticker(const callback& report, migration_progress at,
                  std::chrono::steady_clock::time_point began)
      : report_(report), at_(std::move(at)), began_(began) {
    if (!report_) return;
    tick();
    thread_ = std::thread([this] { run(); });
  }

  ~progress_ticker() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> guard(mtx_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  progress_ticker(const progress_ticker&) = delete;
  progress_ticker& operator=(const progress_ticker&) = delete;

 private:
  void tick() {
    at_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began_)
            .count();
    try {
      report_(at_);
    } catch (...) {
      // A display that failed must not end the migration.
    }
  }

  void run() {
    std::unique_lock<std::mutex> lock(mtx_);
    while (
        !cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; }))
      tick();
  }

  const callback& report_;
  migration_progress at_;
  std::chrono::steady_clock::time_point began_;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace storage
