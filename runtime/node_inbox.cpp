#include "runtime/node_inbox.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>

#include "messages/caf_support.hpp"
#include "messages/node_protocol.hpp"

namespace storage {

namespace {

using inbox_clock = std::chrono::steady_clock;

// A stand-in with no request in flight that nobody sent one through for
// this long is forgotten (clients drop an idle caller's relay after 30 s).
// A caller that comes back later gets a new stand-in; with nothing of its
// own in flight, its order is not at stake.
constexpr auto stub_idle = std::chrono::seconds(60);
constexpr auto sweep_every = std::chrono::seconds(30);

// The replies on their way back to one client connection.
class reply_outbox : public std::enable_shared_from_this<reply_outbox> {
 public:
  reply_outbox(caf::actor_system& sys, caf::strong_actor_ptr endpoint)
      : sys_(sys), endpoint_(std::move(endpoint)) {}

  // Any thread: the first reply since the last flush posts the next one.
  void add(caf::strong_actor_ptr relay, caf::message_id mid,
           caf::message content) {
    {
      std::lock_guard<std::mutex> guard(mtx_);
      items_.push_back(
          {std::move(relay), mid.integer_value(), std::move(content)});
      if (flush_posted_) return;
      flush_posted_ = true;
    }
    auto& mpx = sys_.middleman().backend();
    mpx.post([self = shared_from_this(), eu = static_cast<caf::execution_unit*>(
                                             &mpx)] { self->flush(eu); });
  }

 private:
  // In the middleman's thread.
  void flush(caf::execution_unit* mpx) {
    message_batch batch;
    {
      std::lock_guard<std::mutex> guard(mtx_);
      batch.items.swap(items_);
      flush_posted_ = false;
    }
    endpoint_->enqueue(
        caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                  nbatch_atom::value, std::move(batch)),
        mpx);
  }

  caf::actor_system& sys_;
  const caf::strong_actor_ptr endpoint_;
  std::mutex mtx_;
  std::vector<batched_message> items_;
  bool flush_posted_ = false;
};

// Sender of one client caller's requests to the store; takes their replies.
class reply_stub final : public caf::monitorable_actor {
 public:
  reply_stub(caf::actor_config& cfg, caf::strong_actor_ptr relay,
             std::shared_ptr<reply_outbox> out)
      : caf::monitorable_actor(cfg),
        relay_(std::move(relay)),
        out_(std::move(out)) {}

  const char* name() const override { return "reply_stub"; }

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
  const std::shared_ptr<reply_outbox> out_;
};

class node_inbox final : public caf::monitorable_actor {
 public:
  node_inbox(caf::actor_config& cfg, caf::strong_actor_ptr store)
      : caf::monitorable_actor(cfg), store_(std::move(store)) {}

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
    {
      std::lock_guard<std::mutex> guard(mtx_);
      auto now = inbox_clock::now();
      for (auto& item : batch.items)
        senders.push_back(caf::message_id{item.id}.is_request()
                              ? stub_for(what->sender, item.actor, now)
                              : item.actor);
      if (now >= next_sweep_) sweep(now);
    }
    for (std::size_t i = 0; i < senders.size(); ++i) {
      auto& item = batch.items[i];
      store_->enqueue(caf::make_mailbox_element(std::move(senders[i]),
                                                caf::message_id{item.id}, {},
                                                std::move(item.content)),
                      eu);
    }
  }

 private:
  // (client node, endpoint, relay)
  using stub_key = std::tuple<caf::node_id, caf::actor_id, caf::actor_id>;
  struct stub_entry {
    caf::strong_actor_ptr stub;
    inbox_clock::time_point last_use;
  };

  // Every request through the stand-in is answered exactly once (the
  // store answers `timeout` or `overloaded` too), which keeps its count.
  caf::strong_actor_ptr stub_for(const caf::strong_actor_ptr& endpoint,
                                 const caf::strong_actor_ptr& relay,
                                 inbox_clock::time_point now) {
    if (!relay) return nullptr;
    auto& e = stubs_[{endpoint->node(), endpoint->id(), relay->id()}];
    e.last_use = now;
    if (!e.stub) e.stub = make_stub(endpoint, relay);
    stub_of(e).sent();
    return e.stub;
  }

  caf::strong_actor_ptr make_stub(const caf::strong_actor_ptr& endpoint,
                                  const caf::strong_actor_ptr& relay) {
    auto& out = outboxes_[{endpoint->node(), endpoint->id()}];
    auto o = out.lock();
    if (!o) {
      o = std::make_shared<reply_outbox>(home_system(), endpoint);
      out = o;
    }
    caf::actor_config cfg;
    return caf::make_actor<reply_stub, caf::strong_actor_ptr>(
        home_system().next_actor_id(), home_system().node(), &home_system(),
        cfg, relay, std::move(o));
  }

  static reply_stub& stub_of(const stub_entry& e) {
    return *static_cast<reply_stub*>(
        caf::actor_cast<caf::abstract_actor*>(e.stub));
  }

  void sweep(inbox_clock::time_point now) {
    next_sweep_ = now + sweep_every;
    for (auto it = stubs_.begin(); it != stubs_.end();)
      it = now - it->second.last_use > stub_idle && stub_of(it->second).idle()
               ? stubs_.erase(it)
               : std::next(it);
    for (auto it = outboxes_.begin(); it != outboxes_.end();)
      it = it->second.expired() ? outboxes_.erase(it) : std::next(it);
  }

  const caf::strong_actor_ptr store_;
  std::mutex mtx_;
  std::map<stub_key, stub_entry> stubs_;
  std::map<std::pair<caf::node_id, caf::actor_id>, std::weak_ptr<reply_outbox>>
      outboxes_;
  inbox_clock::time_point next_sweep_ = inbox_clock::now() + sweep_every;
};

}  // namespace

caf::strong_actor_ptr spawn_node_inbox(caf::actor_system& sys,
                                       caf::strong_actor_ptr store) {
  caf::actor_config cfg;
  return caf::make_actor<node_inbox, caf::strong_actor_ptr>(
      sys.next_actor_id(), sys.node(), &sys, cfg, std::move(store));
}

}  // namespace storage
