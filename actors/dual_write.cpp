#include "actors/live_protocol.hpp"

namespace storage {

void live_status::fail(const store_error& e) {
  std::lock_guard<std::mutex> guard(mtx_);
  if (!failure_) failure_ = e;
}

std::optional<store_error> live_status::failure() const {
  std::lock_guard<std::mutex> guard(mtx_);
  return failure_;
}

}  // namespace storage
