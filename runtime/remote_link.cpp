#include "runtime/remote_link.hpp"

#include "actors/pool/store_op.hpp"
#include "messages/caf_support.hpp"
#include "messages/node_protocol.hpp"

namespace storage {

namespace {

constexpr auto watchdog_tick = std::chrono::milliseconds(10);
// A relay nobody used for this long is dropped (callers come and go).
constexpr auto relay_idle = std::chrono::seconds(30);

}  // namespace

// ---- reply_relay -----------------------------------------------------------

reply_relay::reply_relay(caf::actor_config& cfg, caf::weak_actor_ptr handle,
                         std::string store)
    : caf::monitorable_actor(cfg),
      handle_(std::move(handle)),
      store_(std::move(store)),
      last_use_(remote_clock::now()) {}

caf::message_id reply_relay::add(caf::strong_actor_ptr sender,
                                 caf::message_id mid,
                                 remote_clock::time_point deadline,
                                 store_op op) {
  std::lock_guard<std::mutex> guard(mtx_);
  auto id = ++next_;
  last_use_ = remote_clock::now();
  pending_.emplace(id, pending{std::move(sender), mid, deadline, op});
  return caf::make_message_id(id);
}

void reply_relay::enqueue(caf::mailbox_element_ptr what,
                          caf::execution_unit* eu) {
  if (!what->mid.is_response()) return;
  pending p;
  {
    std::lock_guard<std::mutex> guard(mtx_);
    auto it = pending_.find(what->mid.request_id().integer_value());
    if (it == pending_.end()) return;  // answered already (deadline, loss)
    p = std::move(it->second);
    pending_.erase(it);
  }
  auto msg = what->move_content_to_message();
  // The node names the store by its own URI (a path on the node, maybe a
  // server's address); the caller knows it by the caf:// URI it opened,
  // which is what vector_store::name() and cache_store::name() say.
  if (msg.match_elements<caf::error>()) {
    auto& e = msg.get_mutable_as<caf::error>(0);
    if (e.category() == error_category) {
      auto failure = from_caf_error(e, "", "");
      e = to_caf_error(store_error(failure.code(), failure.message(),
                                   failure.operation(), store_));
    }
  }
  answer(p, std::move(msg), eu);
}

void reply_relay::answer(pending& p, caf::message msg,
                         caf::execution_unit* eu) {
  if (!p.sender) return;
  // The caller sees the answer come from the handle it asked.
  p.sender->enqueue(
      caf::make_mailbox_element(handle_.lock(), p.mid.response_id(), {},
                                std::move(msg)),
      eu);
}

void reply_relay::expire(remote_clock::time_point now,
                         const store_error& failure) {
  std::vector<pending> late;
  {
    std::lock_guard<std::mutex> guard(mtx_);
    for (auto it = pending_.begin(); it != pending_.end();)
      if (it->second.deadline <= now) {
        late.push_back(std::move(it->second));
        it = pending_.erase(it);
      } else {
        ++it;
      }
  }
  for (auto& p : late)
    answer(p,
           caf::make_message(
               to_caf_error(failure.with_context(to_string(p.op), ""))),
           nullptr);
}

bool reply_relay::idle_since(remote_clock::time_point since) {
  std::lock_guard<std::mutex> guard(mtx_);
  return pending_.empty() && last_use_ < since;
}

// ---- reply_endpoint --------------------------------------------------------

void reply_endpoint::enqueue(caf::mailbox_element_ptr what,
                             caf::execution_unit* eu) {
  auto& content = what->content();
  if (!content.match_elements<nbatch_atom, message_batch>()) return;
  for (auto& item : content.get_mutable_as<message_batch>(1).items)
    if (item.actor)  // null: the relay is gone (its requests were answered)
      item.actor->enqueue(
          caf::make_mailbox_element(nullptr, caf::message_id{item.id}, {},
                                    std::move(item.content)),
          eu);
}

void answer_with_error(caf::mailbox_element& what, const store_error& failure,
                       const caf::strong_actor_ptr& from,
                       caf::execution_unit* eu) {
  if (!what.sender || !what.mid.is_request()) return;
  auto op = to_string(op_of(what.content()));
  what.sender->enqueue(
      caf::make_mailbox_element(from, what.mid.response_id(), {},
                                to_caf_error(failure.with_context(op, ""))),
      eu);
}

// ---- remote_link_state
// -------------------------------------------------------

remote_link_state::remote_link_state(caf::actor_system& sys,
                                     remote_store_spec spec)
    : sys_(sys),
      spec_(std::move(spec)),
      why_(errc::backend_unavailable, "not connected yet"),
      watchdog_([this] { watch(); }) {}

remote_link_state::~remote_link_state() {
  stop();
}

void remote_link_state::set_handle(caf::strong_actor_ptr handle) {
  // The watchdog, already running, reads it under the same lock (a data
  // race ThreadSanitizer found); callers only see the state after this.
  std::lock_guard<std::shared_mutex> guard(mtx_);
  handle_ = caf::weak_actor_ptr{handle.get()};
}

void remote_link_state::set_connector(caf::actor connector) {
  connector_ = std::move(connector);
}

void remote_link_state::dispatch(caf::mailbox_element_ptr what,
                                 caf::execution_unit* eu) {
  std::shared_ptr<connection> conn;
  {
    std::shared_lock<std::shared_mutex> guard(mtx_);
    if (phase_ == phase::up) conn = conn_;
  }
  if (conn) return forward(*conn, std::move(what));
  std::unique_lock<std::shared_mutex> guard(mtx_);
  switch (phase_) {
    case phase::up:  // came up meanwhile
      conn = conn_;
      guard.unlock();
      return forward(*conn, std::move(what));
    case phase::connecting:
      if (what->mid.is_request())
        waiting_.push_back(
            {std::move(what), remote_clock::now() + spec_.timeout});
      return;
    case phase::down:
    case phase::stopped: {
      auto why = why_;
      guard.unlock();
      answer_with_error(*what, why, handle_.lock(), eu);
      return;
    }
  }
}

reply_relay& remote_link_state::relay_for(connection& c,
                                          const caf::strong_actor_ptr& caller) {
  auto key = caller ? caller->id() : caf::actor_id{0};
  auto& slot = c.relays[key];
  if (!slot) {
    caf::actor_config cfg;
    slot = caf::make_actor<reply_relay, caf::strong_actor_ptr>(
        sys_.next_actor_id(), sys_.node(), &sys_, cfg, handle_, spec_.display);
  }
  return *static_cast<reply_relay*>(
      caf::actor_cast<caf::abstract_actor*>(slot));
}

void remote_link_state::forward(connection& c, caf::mailbox_element_ptr what) {
  if (!what->mid.is_request()) {
    // Not a request (nothing answers it): on as it is, in its turn.
    auto content = what->move_content_to_message();
    c.outbox->add(std::move(what->sender), what->mid, std::move(content));
    return;
  }
  caf::strong_actor_ptr relay;
  caf::message_id mid;
  std::int64_t deadline_us = 0;
  std::optional<store_error> failed;
  {
    std::lock_guard<std::mutex> guard(c.mtx);
    failed = c.failed;
    if (!failed) {
      auto& r = relay_for(c, what->sender);
      mid = r.add(std::move(what->sender), what->mid,
                  remote_clock::now() + spec_.timeout, op_of(what->content()));
      deadline_us =
          wall_clock_us() +
          std::chrono::duration_cast<std::chrono::microseconds>(spec_.timeout)
              .count();
      relay = caf::strong_actor_ptr{r.ctrl()};
    }
  }
  // Answered outside the lock: a caller's enqueue may run code.
  if (failed) return answer_with_error(*what, *failed, handle_.lock(), nullptr);
  c.outbox->add(std::move(relay), mid, what->move_content_to_message(),
                deadline_us);
}

void remote_link_state::connecting() {
  std::lock_guard<std::shared_mutex> guard(mtx_);
  if (phase_ == phase::down && !final_) phase_ = phase::connecting;
}

void remote_link_state::connected(caf::strong_actor_ptr remote) {
  auto c = std::make_shared<connection>();
  c->remote = std::move(remote);
  caf::actor_config cfg;
  c->endpoint = caf::make_actor<reply_endpoint, caf::strong_actor_ptr>(
      sys_.next_actor_id(), sys_.node(), &sys_, cfg);
  c->outbox = std::make_shared<batch_outbox>(sys_, c->remote, c->endpoint);
  std::lock_guard<std::shared_mutex> guard(mtx_);
  if (phase_ == phase::stopped) return;
  // Before anyone else may forward: what waited keeps its order.
  for (auto& w : waiting_) forward(*c, std::move(w.what));
  waiting_.clear();
  conn_ = std::move(c);
  phase_ = phase::up;
  final_ = false;
}

void remote_link_state::down(const store_error& why, bool final) {
  std::shared_ptr<connection> old;
  std::deque<waiting> failed;
  {
    std::lock_guard<std::shared_mutex> guard(mtx_);
    if (phase_ == phase::stopped) return;
    phase_ = phase::down;
    final_ = final;
    why_ = why;
    old = std::move(conn_);
    failed.swap(waiting_);
  }
  auto from = handle_.lock();
  for (auto& w : failed) answer_with_error(*w.what, why, from, nullptr);
  if (old) fail_connection(*old, why);
}

void remote_link_state::fail_connection(connection& c, const store_error& why) {
  std::lock_guard<std::mutex> guard(c.mtx);
  c.failed = why;
  c.outbox->clear();  // their relays answer them below
  for (auto& [caller, relay] : c.relays) {
    static_cast<reply_relay*>(caf::actor_cast<caf::abstract_actor*>(relay))
        ->expire(remote_clock::time_point::max(), why);
    sys_.registry().erase(relay->id());
  }
  c.relays.clear();
  if (c.endpoint) sys_.registry().erase(c.endpoint->id());
}

void remote_link_state::stop() {
  {
    std::lock_guard<std::mutex> guard(stop_mtx_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  down(store_error(errc::backend_unavailable, "the runtime shut down", "",
                   spec_.display),
       true);
  {
    std::lock_guard<std::shared_mutex> guard(mtx_);
    phase_ = phase::stopped;
  }
  if (connector_)
    caf::anon_send_exit(connector_, caf::exit_reason::user_shutdown);
}

void remote_link_state::watch() {
  store_error late(errc::timeout,
                   "no answer within the store's deadline (from the node, or "
                   "from the backend it serves the store from)",
                   "", spec_.display);
  auto next_sweep = remote_clock::now() + std::chrono::seconds(1);
  std::unique_lock<std::mutex> stop_guard(stop_mtx_);
  while (!stopping_) {
    stop_cv_.wait_for(stop_guard, watchdog_tick);
    auto now = remote_clock::now();
    std::shared_ptr<connection> conn;
    std::deque<waiting> expired;
    caf::strong_actor_ptr from;
    {
      std::lock_guard<std::shared_mutex> guard(mtx_);
      from = handle_.lock();
      conn = conn_;
      while (!waiting_.empty() && waiting_.front().deadline <= now) {
        expired.push_back(std::move(waiting_.front()));
        waiting_.pop_front();
      }
    }
    for (auto& w : expired) answer_with_error(*w.what, late, from, nullptr);
    if (!conn) continue;
    std::lock_guard<std::mutex> guard(conn->mtx);
    bool sweep = now >= next_sweep;
    if (sweep) next_sweep = now + std::chrono::seconds(1);
    for (auto it = conn->relays.begin(); it != conn->relays.end();) {
      auto* r = static_cast<reply_relay*>(
          caf::actor_cast<caf::abstract_actor*>(it->second));
      r->expire(now, late);
      if (sweep && r->idle_since(now - relay_idle)) {
        sys_.registry().erase(it->second->id());
        it = conn->relays.erase(it);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace storage
