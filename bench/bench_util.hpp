// What every suite shares: per-operation latency percentiles across all
// benchmark threads, process CPU time, the runtime the runtime paths use,
// scratch directories, and the actor path's request loop.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <unistd.h>

#include <caf/all.hpp>

#include "messages/caf_support.hpp"
#include "runtime/runtime.hpp"

namespace storage::bench {

using clock_type = std::chrono::steady_clock;

inline double micros_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - t0)
      .count();
}

// CPU time of the whole process (every scheduler and worker thread).
inline double process_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 +
         static_cast<double>(ts.tv_nsec) / 1e3;
}

// Gathers the latencies every benchmark thread recorded in one run and
// reports, from thread 0, p50_us, p99_us, items/s and the process CPU time
// per operation. Benchmark threads start their timed loops together, so
// thread 0 resetting before its loop cannot race with another thread's add.
class run_stats {
 public:
  static run_stats& instance() {
    static run_stats s;
    return s;
  }

  void begin(benchmark::State& state) {
    if (state.thread_index() != 0) return;
    std::lock_guard<std::mutex> g(mtx_);
    all_.clear();
    items_ = 0;
    arrived_ = 0;
    cpu0_ = process_cpu_us();
  }

  // `items`: operations this thread completed; `lat`: their latencies (µs),
  // possibly a sample of them.
  void end(benchmark::State& state, std::uint64_t items,
           const std::vector<double>& lat) {
    state.SetItemsProcessed(static_cast<std::int64_t>(items));
    std::unique_lock<std::mutex> g(mtx_);
    all_.insert(all_.end(), lat.begin(), lat.end());
    items_ += items;
    ++arrived_;
    cv_.notify_all();
    if (state.thread_index() != 0) return;
    cv_.wait(g, [&] { return arrived_ == state.threads(); });
    auto cpu = process_cpu_us() - cpu0_;
    std::sort(all_.begin(), all_.end());
    if (!all_.empty()) {
      state.counters["p50_us"] = all_[all_.size() / 2];
      state.counters["p99_us"] = all_[all_.size() * 99 / 100];
    }
    if (items_ > 0)
      state.counters["cpu_us_op"] = cpu / static_cast<double>(items_);
  }

 private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<double> all_;
  std::uint64_t items_ = 0;
  int arrived_ = 0;
  double cpu0_ = 0;
};

// Times `op(i)` for every iteration; records the latency of every
// `sample_every`-th call so the clock reads do not distort sub-µs operations.
template <class Op>
void timed_loop(benchmark::State& state, Op op, unsigned sample_every = 1) {
  std::vector<double> lat;
  lat.reserve(1 << 16);
  std::uint64_t i = 0;
  run_stats::instance().begin(state);
  try {
    for (auto _ : state) {
      if (i % sample_every == 0) {
        auto t0 = clock_type::now();
        op(i);
        lat.push_back(micros_since(t0));
      } else {
        op(i);
      }
      ++i;
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
  run_stats::instance().end(state, i, lat);
}

// One runtime at a time: a runtime with other scheduler options replaces the
// current one, so idle scheduler threads of an earlier runtime never steal
// CPU from a later measurement.
class runtime_holder {
 public:
  static storage::runtime& get(runtime_options opts = {}) {
    auto& h = instance();
    std::lock_guard<std::mutex> g(h.mtx_);
    if (!h.rt_ || h.opts_.threads != opts.threads ||
        h.opts_.poll_attempts != opts.poll_attempts) {
      h.rt_.reset();
      h.rt_ = std::make_unique<storage::runtime>(opts);
      h.opts_ = opts;
    }
    return *h.rt_;
  }

  // Stops the runtime before static destruction begins (main.cpp): CAF's
  // own statics may already be gone by the time this holder is destroyed.
  static void shutdown() {
    auto& h = instance();
    std::lock_guard<std::mutex> g(h.mtx_);
    h.rt_.reset();
  }

 private:
  static runtime_holder& instance() {
    static runtime_holder h;
    return h;
  }

  std::mutex mtx_;
  std::unique_ptr<storage::runtime> rt_;
  runtime_options opts_;
};

// A fresh scratch directory per process, removed at exit.
inline const std::string& scratch_dir() {
  struct dir {
    std::string path;
    dir() {
      path = (std::filesystem::temp_directory_path() /
              ("storage-bench-" + std::to_string(::getpid())))
                 .string();
      std::filesystem::create_directories(path);
    }
    ~dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static dir d;
  return d.path;
}

// Appends a runtime query parameter to a URI.
inline std::string with_param(const std::string& uri, const std::string& kv) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + kv;
}

// The actor path: a CAF event-based actor sends `n` requests one after the
// other, each with request(...).then from the previous reply, and records
// each round trip. The calling benchmark thread waits for the whole batch.
template <class Reply, class Handle, class Send>
class round_trips {
 public:
  round_trips(Handle h, Send send) : h_(std::move(h)), send_(std::move(send)) {}

  void run(caf::actor_system& sys, std::uint64_t first, int n,
           std::vector<double>& lat) {
    std::promise<void> done;
    auto fut = done.get_future();
    done_ = &done;
    lat_ = &lat;
    next_ = first;
    left_ = n;
    sys.spawn([this](caf::event_based_actor* self) -> caf::behavior {
      self_ = self;
      step();
      return {[](caf::unit_t) {}};
    });
    fut.get();
  }

 private:
  void step() {
    if (left_-- == 0) {
      self_->quit();
      done_->set_value();
      return;
    }
    t0_ = clock_type::now();
    send_(self_, h_, next_++)
        .then(
            [this](Reply&) {
              lat_->push_back(micros_since(t0_));
              step();
            },
            [this](caf::error& e) {
              self_->quit();
              done_->set_exception(std::make_exception_ptr(
                  std::runtime_error(caf::to_string(e))));
            });
  }

  Handle h_;
  Send send_;
  caf::event_based_actor* self_ = nullptr;
  std::promise<void>* done_ = nullptr;
  std::vector<double>* lat_ = nullptr;
  std::uint64_t next_ = 0;
  int left_ = 0;
  clock_type::time_point t0_;
};

// Runs the actor path as a benchmark: each iteration is a batch of `batch`
// round trips, so items/s counts round trips.
template <class Reply, class Handle, class Send>
void actor_loop(benchmark::State& state, caf::actor_system& sys, Handle h,
                Send send, int batch) {
  round_trips<Reply, Handle, Send> rt(std::move(h), std::move(send));
  std::vector<double> lat;
  lat.reserve(1 << 16);
  std::uint64_t i = 0;
  run_stats::instance().begin(state);
  try {
    for (auto _ : state) {
      rt.run(sys, i + (static_cast<std::uint64_t>(state.thread_index()) << 32),
             batch, lat);
      i += static_cast<std::uint64_t>(batch);
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
  run_stats::instance().end(state, i, lat);
}

constexpr auto request_timeout = std::chrono::seconds(60);

}  // namespace storage::bench
