// The pieces behind a caf:// store's handle (remote_store.hpp): the relays
// that carry replies back to callers, the endpoint the node sends batches
// of replies to, and the state the handle forwards by and the connector
// (remote_connector.cpp) keeps current. Requests leave through a
// batch_outbox per connection (batch_outbox.hpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/pool/store_op.hpp"
#include "messages/errors.hpp"
#include "runtime/batch_outbox.hpp"
#include "runtime/remote_store.hpp"

namespace storage {

using remote_clock = std::chrono::steady_clock;

// One caller's requests to one connection: forwarded with the relay as
// their sender, so the node answers the relay, which answers the caller.
class reply_relay final : public caf::monitorable_actor {
 public:
  // `store`: the caf:// URI the caller opened (redacted), which the node's
  // errors are given in place of the node's own name for the store.
  reply_relay(caf::actor_config& cfg, caf::weak_actor_ptr handle,
              std::string store);

  const char* name() const override { return "reply_relay"; }

  // Remembers who to answer; returns the id to send the request with.
  // `op` names the operation in the errors this relay makes itself.
  caf::message_id add(caf::strong_actor_ptr sender, caf::message_id mid,
                      remote_clock::time_point deadline, store_op op);
  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) override;

  // Answers every pending request past `now` (all: time_point::max()) with
  // `failure`.
  void expire(remote_clock::time_point now, const store_error& failure);
  // No request pending and none sent since `since`.
  bool idle_since(remote_clock::time_point since);

 private:
  struct pending {
    caf::strong_actor_ptr sender;
    caf::message_id mid;
    remote_clock::time_point deadline;
    store_op op = store_op::other;
  };
  void answer(pending& p, caf::message msg, caf::execution_unit* eu);

  caf::weak_actor_ptr handle_;
  std::string store_;
  std::mutex mtx_;
  std::uint64_t next_ = 0;
  remote_clock::time_point last_use_;
  std::unordered_map<std::uint64_t, pending> pending_;
};

// Where a node sends a connection's replies, batched (node_inbox.hpp): in
// the middleman's thread, hands each to the relay it names.
class reply_endpoint final : public caf::monitorable_actor {
 public:
  explicit reply_endpoint(caf::actor_config& cfg)
      : caf::monitorable_actor(cfg) {}

  const char* name() const override { return "reply_endpoint"; }

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) override;
};

// Sends `failure` as the answer to the request `what`.
void answer_with_error(caf::mailbox_element& what, const store_error& failure,
                       const caf::strong_actor_ptr& from,
                       caf::execution_unit* eu);

// Where a caf:// handle sends requests, kept current by the connector.
class remote_link_state {
 public:
  remote_link_state(caf::actor_system& sys, remote_store_spec spec);
  ~remote_link_state();

  const remote_store_spec& spec() const { return spec_; }

  // The handle's enqueue: forwards, queues (while connecting) or fails.
  void dispatch(caf::mailbox_element_ptr what, caf::execution_unit* eu);

  // The connector's reports.
  void connecting();
  void connected(caf::strong_actor_ptr remote);
  // down: requests fail with `why` until the next connected(); final: for
  // good (the node serves no such store, or one of the other kind).
  void down(const store_error& why, bool final);

  void set_handle(caf::strong_actor_ptr handle);
  void set_connector(caf::actor connector);
  void stop();

 private:
  enum class phase { connecting, up, down, stopped };
  struct connection {
    caf::strong_actor_ptr remote;
    std::mutex mtx;
    std::unordered_map<caf::actor_id, caf::strong_actor_ptr> relays;
    // Sender of the connection's batches, receiver of the node's.
    caf::strong_actor_ptr endpoint;
    std::shared_ptr<batch_outbox> outbox;  // to `remote`, from `endpoint`
    // Set once fail_connection() ran: a caller that took this connection
    // just before it failed is answered with it at once. Its relays were
    // answered already, and the watchdog only sweeps the current
    // connection's, so a request added here would wait for nobody.
    std::optional<store_error> failed;
  };

  reply_relay& relay_for(connection& c, const caf::strong_actor_ptr& caller);
  void forward(connection& c, caf::mailbox_element_ptr what);
  void fail_connection(connection& c, const store_error& why);
  void watch();

  caf::actor_system& sys_;
  const remote_store_spec spec_;
  caf::weak_actor_ptr handle_;
  caf::actor connector_;
  std::shared_mutex mtx_;
  phase phase_ = phase::connecting;
  bool final_ = false;
  store_error why_;
  std::shared_ptr<connection> conn_;
  struct waiting {
    caf::mailbox_element_ptr what;
    remote_clock::time_point deadline;
  };
  std::deque<waiting> waiting_;
  std::mutex stop_mtx_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread watchdog_;
};

// Starts the actor that connects `state` to its node and reconnects it.
caf::actor spawn_remote_connector(caf::actor_system& sys,
                                  std::shared_ptr<remote_link_state> state);

}  // namespace storage
