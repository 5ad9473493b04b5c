#include "runtime/node_inbox.hpp"

#include <atomic>
#include <chrono>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <caf/all.hpp>

#include "actors/pool/job.hpp"
#include "actors/pool/store_op.hpp"
#include "messages/caf_support.hpp"
#include "messages/errors.hpp"
#include "messages/node_protocol.hpp"
#include "runtime/batch_outbox.hpp"

namespace storage {

namespace {

using inbox_clock = std::chrono::steady_clock;

// A stand-in with no request in flight that nobody sent one through for
// this long is forgotten (clients drop an idle caller's relay after 30 s).
// A caller that comes back later gets a new stand-in; with nothing of its
// own in flight, its order is not at stake.
constexpr auto stand_in_idle = std::chrono::seconds(60);
constexpr auto sweep_every = std::chrono::seconds(30);

// How long a client connection's usual lag (the least seen: its clock's
// offset plus the quickest transit) is remembered: the least of this window
// and the last. A batch that waited longer than that lag (the node was
// frozen, or slow to read) has that much less time left. A client whose
// clock is set back looks late until the window has passed, so it is short.
constexpr auto lag_window = std::chrono::seconds(60);

// The least lag of one client connection over the current and last window.
class link_lag {
 public:
  // Takes a batch's lag (this node's wall clock minus its sent_us) and
  // returns the usual lag.
  std::int64_t usual(std::int64_t lag, inbox_clock::time_point now) {
    if (now - window_start_ >= lag_window) {
      // One step per batch: after a long freeze the lag from before it
      // still counts for the batches that waited through it.
      last_ = current_;
      current_ = std::numeric_limits<std::int64_t>::max();
      window_start_ = now;
    }
    current_ = std::min(current_, lag);
    last_seen_ = now;
    return std::min(current_, last_);
  }
  inbox_clock::time_point last_seen() const { return last_seen_; }

 private:
  std::int64_t current_ = std::numeric_limits<std::int64_t>::max();
  std::int64_t last_ = std::numeric_limits<std::int64_t>::max();
  inbox_clock::time_point window_start_ = inbox_clock::now();
  inbox_clock::time_point last_seen_{};
};

// Sender of one client caller's requests to the store; takes their replies.
class caller_stand_in final : public caf::monitorable_actor {
 public:
  caller_stand_in(caf::actor_config& cfg, caf::strong_actor_ptr relay,
                  std::shared_ptr<batch_outbox> out)
      : caf::monitorable_actor(cfg),
        relay_(std::move(relay)),
        out_(std::move(out)) {}

  const char* name() const override { return "caller_stand_in"; }

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) override {
    if (!what->mid.is_response()) return;
    out_->add(relay_, what->mid, what->move_content_to_message());
    in_flight_.fetch_sub(1, std::memory_order_release);
  }

  // Requests sent through this stand-in and not answered yet.
  void sent() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  bool idle() const { return in_flight_.load(std::memory_order_acquire) == 0; }

 private:
  std::atomic<int> in_flight_{0};
  const caf::strong_actor_ptr relay_;
  const std::shared_ptr<batch_outbox> out_;
};

class node_inbox final : public caf::monitorable_actor {
 public:
  node_inbox(caf::actor_config& cfg, caf::strong_actor_ptr store,
             std::string display)
      : caf::monitorable_actor(cfg),
        store_(std::move(store)),
        display_(std::move(display)) {}

  const char* name() const override { return "node_inbox"; }

  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* eu) override {
    auto& content = what->content();
    if (!what->sender ||
        !content.match_elements<nbatch_atom, message_batch>()) {
      store_->enqueue(std::move(what), eu);
      return;
    }
    auto& batch = content.get_mutable_as<message_batch>(1);
    std::vector<caf::strong_actor_ptr> senders;
    senders.reserve(batch.items.size());
    auto wall = wall_clock_us();
    std::int64_t usual = 0;
    {
      std::lock_guard<std::mutex> guard(mtx_);
      auto now = inbox_clock::now();
      auto& lag = lags_[{what->sender->node(), what->sender->id()}];
      usual = lag.usual(wall - batch.sent_us, now);
      for (auto& item : batch.items)
        senders.push_back(caf::message_id{item.id}.is_request()
                              ? stand_in_for(what->sender, item.actor, now)
                              : item.actor);
      if (now >= next_sweep_) sweep(now);
    }
    auto steady = deadline_clock::now();
    for (std::size_t i = 0; i < senders.size(); ++i) {
      auto& item = batch.items[i];
      caf::message_id mid{item.id};
      if (item.deadline_us == 0 || !mid.is_request()) {
        store_->enqueue(caf::make_mailbox_element(std::move(senders[i]), mid,
                                                  {}, std::move(item.content)),
                        eu);
        continue;
      }
      // The client's deadline as this node's: what was left when the batch
      // left, less how much longer than usual it took to get here.
      auto left_us = item.deadline_us + usual - wall;
      if (left_us <= 0) {
        late(std::move(senders[i]), mid, item.content, eu);
        continue;
      }
      dispatch_deadline_cap() = steady + std::chrono::microseconds(left_us);
      store_->enqueue(caf::make_mailbox_element(std::move(senders[i]), mid, {},
                                                std::move(item.content)),
                      eu);
      dispatch_deadline_cap() = deadline_clock::time_point::max();
    }
  }

 private:
  // Answers a request whose deadline passed before it reached the node,
  // as the store would have: timeout, and it never runs.
  void late(caf::strong_actor_ptr stand_in, caf::message_id mid,
            const caf::message& content, caf::execution_unit* eu) {
    if (!stand_in) return;
    auto op = op_of(content.content());
    store_error e(errc::timeout,
                  "the deadline passed before the request reached the node",
                  to_string(op), display_);
    stand_in->enqueue(caf::make_mailbox_element(nullptr, mid.response_id(), {},
                                                to_caf_error(e)),
                      eu);
  }

  // (client node, endpoint, relay)
  using stand_in_key = std::tuple<caf::node_id, caf::actor_id, caf::actor_id>;
  struct stand_in_entry {
    caf::strong_actor_ptr stand_in;
    inbox_clock::time_point last_use;
  };

  // Every request through the stand-in is answered exactly once (the
  // store answers `timeout` or `overloaded` too), which keeps its count.
  caf::strong_actor_ptr stand_in_for(const caf::strong_actor_ptr& endpoint,
                                     const caf::strong_actor_ptr& relay,
                                     inbox_clock::time_point now) {
    if (!relay) return nullptr;
    auto& e = stand_ins_[{endpoint->node(), endpoint->id(), relay->id()}];
    e.last_use = now;
    if (!e.stand_in) e.stand_in = make_stand_in(endpoint, relay);
    stand_in_of(e).sent();
    return e.stand_in;
  }

  caf::strong_actor_ptr make_stand_in(const caf::strong_actor_ptr& endpoint,
                                      const caf::strong_actor_ptr& relay) {
    auto& out = outboxes_[{endpoint->node(), endpoint->id()}];
    auto o = out.lock();
    if (!o) {
      o = std::make_shared<batch_outbox>(home_system(), endpoint, nullptr);
      out = o;
    }
    caf::actor_config cfg;
    return caf::make_actor<caller_stand_in, caf::strong_actor_ptr>(
        home_system().next_actor_id(), home_system().node(), &home_system(),
        cfg, relay, std::move(o));
  }

  static caller_stand_in& stand_in_of(const stand_in_entry& e) {
    return *static_cast<caller_stand_in*>(
        caf::actor_cast<caf::abstract_actor*>(e.stand_in));
  }

  void sweep(inbox_clock::time_point now) {
    next_sweep_ = now + sweep_every;
    for (auto it = stand_ins_.begin(); it != stand_ins_.end();)
      it = now - it->second.last_use > stand_in_idle &&
                   stand_in_of(it->second).idle()
               ? stand_ins_.erase(it)
               : std::next(it);
    for (auto it = outboxes_.begin(); it != outboxes_.end();)
      it = it->second.expired() ? outboxes_.erase(it) : std::next(it);
    for (auto it = lags_.begin(); it != lags_.end();)
      it = now - it->second.last_seen() > 2 * lag_window ? lags_.erase(it)
                                                         : std::next(it);
  }

  const caf::strong_actor_ptr store_;
  const std::string display_;  // the store's redacted URI, for errors
  std::mutex mtx_;
  std::map<stand_in_key, stand_in_entry> stand_ins_;
  std::map<std::pair<caf::node_id, caf::actor_id>, std::weak_ptr<batch_outbox>>
      outboxes_;
  std::map<std::pair<caf::node_id, caf::actor_id>, link_lag> lags_;
  inbox_clock::time_point next_sweep_ = inbox_clock::now() + sweep_every;
};

}  // namespace

caf::strong_actor_ptr spawn_node_inbox(caf::actor_system& sys,
                                       caf::strong_actor_ptr store,
                                       std::string display) {
  caf::actor_config cfg;
  return caf::make_actor<node_inbox, caf::strong_actor_ptr>(
      sys.next_actor_id(), sys.node(), &sys, cfg, std::move(store),
      std::move(display));
}

}  // namespace storage
