// What one pool holds, counted where every path can see it: the units
// admitted against max_inflight, each worker's queue (for the least-loaded
// choice), and which worker holds each caller's unfinished requests.
//
// The dispatcher updates it on the callers' threads, the router on its own,
// and a worker releases its share when it is done with a request: a request
// whose caller stopped waiting (timeout) keeps counting against the worker
// that still holds it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace storage {

// Who issued a request: the sending actor's id (a facade thread has its own
// actor); 0 for a message without sender.
using caller_id = std::uint64_t;

class pool_gauge {
 public:
  static constexpr std::uint32_t no_worker = 0xFFFFFFFF;

  pool_gauge(std::uint32_t workers, std::size_t max_inflight);

  std::size_t max_inflight() const { return max_inflight_; }
  std::size_t inflight() const { return inflight_.load(); }
  std::uint32_t load(std::uint32_t worker) const { return load_[worker]; }

  // Takes one unit of the bound; false (and nothing taken) when full.
  bool try_admit();
  // Takes one unit whatever the bound: the parts of a request already
  // admitted, a migration's own traffic.
  void admit();

  // The worker for caller `c`'s next request on a pool of interchangeable
  // workers: the one that still holds an unfinished request of `c` (so one
  // caller's requests run in the order issued), otherwise the least loaded
  // worker for which alive(i) holds. Counts the request against it; returns
  // no_worker if none is alive.
  template <class Alive>
  std::uint32_t place(caller_id c, Alive alive);

  // Counts a request against `worker`, chosen by key (a shard): no claim,
  // the key decides. Its token carries caller 0.
  void assign(std::uint32_t worker);

  // The share of one request: one unit of the bound and, with a worker, its
  // load and its caller's claim on it.
  void release(std::uint32_t worker, caller_id c);
  // The share of one part of a request split across workers: the worker's
  // load and the caller's claim; the request's one unit is released apart.
  void unload(std::uint32_t worker, caller_id c);

 private:
  struct claim {
    std::uint32_t worker;
    std::uint32_t outstanding;
  };
  const std::size_t max_inflight_;
  std::atomic<std::size_t> inflight_{0};
  std::unique_ptr<std::atomic<std::uint32_t>[]> load_;
  const std::uint32_t size_;
  std::mutex mtx_;
  std::unordered_map<caller_id, claim> claims_;
  std::uint32_t rotor_ = 0;  // spreads ties between idle workers
};

// Requests whose load_token is alive, over every pool of the process: how
// much work is on its way. Idle threads spin for the next job only when
// this is small (actors/pool/worker_linger.hpp).
std::size_t requests_in_flight();

namespace detail {
extern std::atomic<std::size_t> tokens_alive;
}  // namespace detail

// One request's share of a gauge, released when the token dies: held by
// whoever holds the request (the router while it waits, the worker while it
// is queued or running, a batch until it has run).
//
// A request the router splits across workers counts once against the bound,
// however many parts it has: each part's token holds its worker's load and
// shares the request's unit, which goes when the last part is done.
class load_token {
 public:
  load_token() = default;
  // A whole request: one unit of the bound (taken by the caller of this
  // constructor) and, unless worker is no_worker, the worker's load.
  load_token(std::shared_ptr<pool_gauge> g, std::uint32_t worker, caller_id c)
      : gauge_(std::move(g)), worker_(worker), caller_(c) {
    if (gauge_) detail::tokens_alive.fetch_add(1, std::memory_order_relaxed);
  }
  // One part of the request whose unit is `unit`: the worker's load only.
  load_token(std::shared_ptr<load_token> unit, std::uint32_t worker,
             caller_id c)
      : gauge_(unit->gauge_),
        worker_(worker),
        caller_(c),
        unit_(std::move(unit)) {
    detail::tokens_alive.fetch_add(1, std::memory_order_relaxed);
  }
  load_token(load_token&& x) noexcept { *this = std::move(x); }
  load_token& operator=(load_token&& x) noexcept {
    reset();
    gauge_ = std::move(x.gauge_);
    worker_ = x.worker_;
    caller_ = x.caller_;
    unit_ = std::move(x.unit_);
    x.gauge_ = nullptr;
    return *this;
  }
  load_token(const load_token&) = delete;
  load_token& operator=(const load_token&) = delete;
  ~load_token() { reset(); }

  void reset() {
    if (!gauge_) return;
    if (unit_)
      gauge_->unload(worker_, caller_);
    else
      gauge_->release(worker_, caller_);
    gauge_ = nullptr;
    unit_ = nullptr;
    detail::tokens_alive.fetch_sub(1, std::memory_order_relaxed);
  }
  explicit operator bool() const { return gauge_ != nullptr; }
  const std::shared_ptr<pool_gauge>& gauge() const { return gauge_; }

 private:
  std::shared_ptr<pool_gauge> gauge_;
  std::uint32_t worker_ = pool_gauge::no_worker;
  caller_id caller_ = 0;
  std::shared_ptr<load_token> unit_;  // set for a part
};

template <class Alive>
std::uint32_t pool_gauge::place(caller_id c, Alive alive) {
  std::lock_guard<std::mutex> guard(mtx_);
  if (c != 0)
    if (auto it = claims_.find(c); it != claims_.end()) {
      ++it->second.outstanding;
      ++load_[it->second.worker];
      return it->second.worker;
    }
  std::uint32_t best = no_worker;
  for (std::uint32_t j = 0; j < size_; ++j) {
    auto i = (rotor_ + j) % size_;
    if (!alive(i)) continue;
    if (best == no_worker || load_[i] < load_[best]) best = i;
  }
  ++rotor_;
  if (best == no_worker) return best;
  ++load_[best];
  if (c != 0) claims_.emplace(c, claim{best, 1});
  return best;
}

}  // namespace storage
