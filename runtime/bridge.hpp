// Carries requests from plain C++ threads to a store and the answers back as
// futures, with at most two thread hand-offs and no actor in between: the
// calling thread enqueues the request itself (the store's dispatcher picks a
// worker right there), and the worker's reply completes the future on the
// worker's own thread. When that worker is idle and its backend's calls are
// short (memory://, Redis, SQLite, faiss://), the calling thread runs the
// request itself and the future comes back already complete: no hand-off at
// all (the thread would only have waited; see actors/pool/inline_policy.hpp).
// Each calling thread has its own reply sink, a tiny actor with no mailbox,
// so a store sees each thread as one caller and keeps that thread's order
// (see actors/pool/store_dispatcher.hpp).
//
// A watchdog completes a future whose reply has not come by the store's
// deadline with timeout, so no call outlives its deadline even if a worker
// is stuck in a call that ignores it. A request run on the calling thread
// is bounded by the adapter's own I/O timeouts, which the same deadline
// sets.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "messages/caf_support.hpp"

namespace storage {

class route_table;

// What a facade call goes to: the store's handle, its name as errors name
// it, and where its current deadline can be read (null for a store of
// another node).
struct call_target {
  caf::strong_actor_ptr handle;
  std::string name;
  std::shared_ptr<route_table> table;
  std::chrono::milliseconds timeout{10000};  // without a table

  std::chrono::milliseconds current_timeout() const;
};

// One thread's reply sink (see bridge.cpp).
class reply_sink;

class bridge {
 public:
  explicit bridge(caf::actor_system& sys);
  ~bridge();
  bridge(const bridge&) = delete;
  bridge& operator=(const bridge&) = delete;

  // The runtime is closing: calls still waiting end with backend_unavailable
  // ("the runtime shut down"), and so does every later call at once,
  // without touching the actor system, which is about to go (a store's
  // handle may outlive its runtime). Each call ends the calls waiting
  // then; a call being made meanwhile ends as it registers.
  void shut_down();

  // Sends (xs...) to the target and returns a future of convert(reply). An
  // error reply becomes a store_error naming `op` and the store.
  template <class Reply, class Result, class Convert, class... Ts>
  std::future<Result> ask(const call_target& dest, const char* op,
                          Convert convert, Ts&&... xs) {
    auto p = std::make_shared<std::promise<Result>>();
    auto fut = p->get_future();
    if (closed_.load(std::memory_order_acquire)) {
      p->set_exception(std::make_exception_ptr(store_error(
          errc::backend_unavailable, "the runtime shut down", op, dest.name)));
      return fut;
    }
    auto done = [p, convert, op, store = dest.name](
                    caf::type_erased_tuple* reply,
                    const store_error* failure) mutable {
      try {
        if (failure) throw failure->with_context(op, store);
        if (reply->match_elements<caf::error>())
          throw from_caf_error(reply->get_as<caf::error>(0), op, store);
        if (!reply->match_elements<Reply>())
          throw store_error(errc::internal, "unexpected reply", op, store);
        auto& r = *static_cast<Reply*>(reply->get_mutable(0));
        if constexpr (std::is_void_v<Result>) {
          convert(r);
          p->set_value();
        } else {
          p->set_value(convert(r));
        }
      } catch (const store_error& e) {
        p->set_exception(std::make_exception_ptr(e));
      }
    };
    auto [sender, mid] = prepare(dest, std::move(done));
    if (withdrawn(sender, mid)) return fut;
    dest.handle->enqueue(caf::make_mailbox_element(std::move(sender), mid, {},
                                                   std::forward<Ts>(xs)...),
                         nullptr);
    return fut;
  }

  // Called with the reply, or with the failure that replaced it.
  using completion =
      std::function<void(caf::type_erased_tuple*, const store_error*)>;

 private:
  // Registers `done` with this thread's sink; returns the sender and the
  // request id to send with.
  std::pair<caf::strong_actor_ptr, caf::message_id> prepare(
      const call_target& dest, completion done);
  reply_sink& mine();
  // Whether shut_down() began while this call was being registered (its
  // sweep may have missed it): the call then ends with backend_unavailable
  // and is not sent, so nothing runs that its caller was told did not.
  bool withdrawn(const caf::strong_actor_ptr& sender, caf::message_id mid);
  void watch();

  caf::actor_system& sys_;
  const std::uint64_t id_;  // tells this bridge's sinks from another's
  std::mutex mtx_;
  std::vector<caf::strong_actor_ptr> sinks_;
  bool stopping_ = false;
  std::atomic<bool> closed_{false};  // shut_down() has run
  std::condition_variable stop_;
  std::thread watchdog_;
};

// The identity conversion for ask().
struct as_is {
  template <class T>
  T operator()(T& x) const {
    return std::move(x);
  }
};

}  // namespace storage
