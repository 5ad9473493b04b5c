#include "runtime/bridge.hpp"

#include <atomic>
#include <unordered_map>

#include "actors/pool/store_dispatcher.hpp"
#include "actors/pool/waiting_caller.hpp"

namespace storage {

std::chrono::milliseconds call_target::current_timeout() const {
  if (table)
    if (auto r = table->current()) return r->timeout;
  return timeout;
}

// An actor without a mailbox: a reply enqueued to it completes its pending
// call right there, on the replying thread. Its thread waits for replies,
// so an idle worker may run its requests on that thread (waiting_caller).
class reply_sink final : public waiting_caller {
 public:
  using clock = std::chrono::steady_clock;

  explicit reply_sink(caf::actor_config& cfg) : waiting_caller(cfg) {}

  const char* name() const override { return "reply_sink"; }

  caf::message_id add(bridge::completion done, clock::time_point deadline) {
    std::lock_guard<std::mutex> guard(mtx_);
    auto id = ++next_;
    pending_.emplace(id, entry{std::move(done), deadline});
    return caf::make_message_id(id);
  }

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit*) override {
    if (!what->mid.is_response()) return;
    auto done = take(what->mid.request_id().integer_value());
    if (done) done(&what->content(), nullptr);
  }

  // Completes every call past its deadline with `failure`.
  void expire(clock::time_point now, const store_error& failure) {
    std::vector<bridge::completion> late;
    {
      std::lock_guard<std::mutex> guard(mtx_);
      for (auto it = pending_.begin(); it != pending_.end();)
        if (it->second.deadline <= now) {
          late.push_back(std::move(it->second.done));
          it = pending_.erase(it);
        } else {
          ++it;
        }
    }
    for (auto& done : late) done(nullptr, &failure);
  }

  bridge::completion take(std::uint64_t id) {
    std::lock_guard<std::mutex> guard(mtx_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return {};  // expired already
    auto done = std::move(it->second.done);
    pending_.erase(it);
    return done;
  }

 private:
  struct entry {
    bridge::completion done;
    clock::time_point deadline;
  };
  std::mutex mtx_;
  std::uint64_t next_ = 0;
  std::unordered_map<std::uint64_t, entry> pending_;
};

namespace {

std::atomic<std::uint64_t> bridge_ids{0};

// Each thread's sinks, by bridge id: a thread may call several runtimes.
thread_local std::vector<std::pair<std::uint64_t, reply_sink*>> my_sinks;

// How long after its deadline the watchdog ends a call: the worker's own
// timeout answer (which says more) usually comes first.
constexpr auto watchdog_grace = std::chrono::milliseconds(20);
constexpr auto watchdog_tick = std::chrono::milliseconds(10);

}  // namespace

bridge::bridge(caf::actor_system& sys)
    : sys_(sys), id_(++bridge_ids), watchdog_([this] { watch(); }) {}

bridge::~bridge() {
  shut_down();
}

void bridge::shut_down() {
  bool first = false;
  {
    std::lock_guard<std::mutex> guard(mtx_);
    first = !stopping_;
    stopping_ = true;
  }
  if (first) {
    closed_.store(true, std::memory_order_release);
    stop_.notify_all();
    watchdog_.join();
  }
  // Every time. A call that registers after a sweep withdraws itself
  // (withdrawn()).
  std::vector<caf::strong_actor_ptr> sinks;
  {
    std::lock_guard<std::mutex> guard(mtx_);
    sinks = sinks_;
  }
  store_error gone(errc::backend_unavailable, "the runtime shut down");
  for (auto& s : sinks)
    static_cast<reply_sink*>(caf::actor_cast<caf::abstract_actor*>(s))
        ->expire(reply_sink::clock::time_point::max(), gone);
}

reply_sink& bridge::mine() {
  for (auto& [owner, sink] : my_sinks)
    if (owner == id_) return *sink;
  caf::actor_config cfg;
  auto ptr = caf::make_actor<reply_sink, caf::strong_actor_ptr>(
      sys_.next_actor_id(), sys_.node(), &sys_, cfg);
  auto* sink =
      static_cast<reply_sink*>(caf::actor_cast<caf::abstract_actor*>(ptr));
  {
    std::lock_guard<std::mutex> guard(mtx_);
    sinks_.push_back(std::move(ptr));
  }
  my_sinks.emplace_back(id_, sink);
  return *sink;
}

std::pair<caf::strong_actor_ptr, caf::message_id> bridge::prepare(
    const call_target& dest, completion done) {
  auto& sink = mine();
  auto deadline =
      reply_sink::clock::now() + dest.current_timeout() + watchdog_grace;
  auto mid = sink.add(std::move(done), deadline);
  return {caf::strong_actor_ptr{sink.ctrl()}, mid};
}

bool bridge::withdrawn(const caf::strong_actor_ptr& sender,
                       caf::message_id mid) {
  // Registered under the sink's lock (and a new sink under mtx_), both of
  // which the sweep takes after setting closed_: either the sweep saw the
  // call, or this sees closed_.
  if (!closed_.load(std::memory_order_acquire)) return false;
  auto* sink =
      static_cast<reply_sink*>(caf::actor_cast<caf::abstract_actor*>(sender));
  if (auto done = sink->take(mid.request_id().integer_value())) {
    store_error gone(errc::backend_unavailable, "the runtime shut down");
    done(nullptr, &gone);
  }
  return true;
}

void bridge::watch() {
  store_error late(errc::timeout, "no answer within the store's deadline");
  std::unique_lock<std::mutex> guard(mtx_);
  while (!stopping_) {
    stop_.wait_for(guard, watchdog_tick);
    auto sinks = sinks_;
    guard.unlock();
    auto now = reply_sink::clock::now();
    for (auto& s : sinks)
      static_cast<reply_sink*>(caf::actor_cast<caf::abstract_actor*>(s))
          ->expire(now, late);
    guard.lock();
  }
}

}  // namespace storage
