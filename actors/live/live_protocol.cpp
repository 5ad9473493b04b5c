#include "actors/live/live_protocol.hpp"

namespace storage {

const char* to_string(live_step s) {
  switch (s) {
    case live_step::started:
      return "started";
    case live_step::backfilled:
      return "backfilled";
    case live_step::verified:
      return "verified";
    case live_step::cut_over:
      return "cut_over";
    case live_step::finalized:
      return "finalized";
    case live_step::aborted:
      return "aborted";
    default:
      return "failed";
  }
}

void live_status::fail(const store_error& e) {
  std::lock_guard<std::mutex> guard(mtx_);
  if (!failure_) failure_ = e;
}

std::optional<store_error> live_status::failure() const {
  std::lock_guard<std::mutex> guard(mtx_);
  return failure_;
}

}  // namespace storage
