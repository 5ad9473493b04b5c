#include "actors/pool/pool_gauge.hpp"

namespace storage {

namespace detail {
std::atomic<std::size_t> tokens_alive{0};
}  // namespace detail

std::size_t requests_in_flight() {
  return detail::tokens_alive.load(std::memory_order_relaxed);
}

pool_gauge::pool_gauge(std::uint32_t workers, std::size_t max_inflight)
    : max_inflight_(max_inflight),
      load_(new std::atomic<std::uint32_t>[workers]),
      size_(workers) {
  for (std::uint32_t i = 0; i < workers; ++i) load_[i] = 0;
}

bool pool_gauge::try_admit() {
  auto n = inflight_.load(std::memory_order_relaxed);
  do {
    if (n >= max_inflight_) return false;
  } while (!inflight_.compare_exchange_weak(n, n + 1));
  return true;
}

void pool_gauge::admit() {
  ++inflight_;
}

void pool_gauge::assign(std::uint32_t worker) {
  ++load_[worker];
}

void pool_gauge::release(std::uint32_t worker, caller_id c) {
  --inflight_;
  unload(worker, c);
}

void pool_gauge::unload(std::uint32_t worker, caller_id c) {
  if (worker == no_worker) return;
  --load_[worker];
  if (c == 0) return;
  std::lock_guard<std::mutex> guard(mtx_);
  auto it = claims_.find(c);
  if (it == claims_.end() || it->second.worker != worker) return;
  if (--it->second.outstanding == 0) claims_.erase(it);
}

}  // namespace storage
