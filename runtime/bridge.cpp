#include "runtime/bridge.hpp"

#include <thread>

namespace storage {

namespace {

caf::behavior bridge_lane(caf::event_based_actor* self) {
  return {
      [=](bridge_job& job) { job.run(self); },
  };
}

}  // namespace

bridge::bridge(caf::actor_system& sys, std::size_t lanes) {
  for (std::size_t i = 0; i < std::max<std::size_t>(lanes, 1); ++i)
    lanes_.push_back(sys.spawn(bridge_lane));
}

bridge::~bridge() {
  for (auto& lane : lanes_)
    caf::anon_send_exit(lane, caf::exit_reason::user_shutdown);
}

void bridge::post(bridge_job job) {
  // One calling thread always uses the same lane: messages between two
  // actors keep their order, so a caller's requests reach the router in the
  // order it made them (per-key order starts here).
  auto i =
      std::hash<std::thread::id>{}(std::this_thread::get_id()) % lanes_.size();
  caf::anon_send(lanes_[i], std::move(job));
}

}  // namespace storage
