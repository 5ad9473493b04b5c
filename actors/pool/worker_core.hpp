// What a pool worker owns, apart from its mailbox: one adapter (one
// connection), made on first use, behind a lock. The worker actor runs its
// mailbox's requests on it; while the worker is idle, a caller may run a
// request on its own thread instead (run_inline), which saves both thread
// hand-offs. The lock keeps the two from ever using the adapter at once.
//
// Only a connection-level failure (backend_unavailable) drops the adapter,
// so the next request reconnects; a bad request gets its error and the
// adapter keeps its state (a FAISS index is never rebuilt because one
// request was wrong). A lost connection (one that had served a request)
// and the reconnect (the first request that succeeds after it) are logged
// (at most once per store and 10 s) and counted in the store's metrics, as
// is every request the core answers.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <caf/all.hpp>

#include "actors/pool/inline_policy.hpp"
#include "actors/pool/job.hpp"
#include "actors/pool/store_metrics.hpp"
#include "actors/pool/waiting_caller.hpp"
#include "adapters/cache_backend.hpp"
#include "adapters/storage_log.hpp"
#include "adapters/vector_backend.hpp"
#include "messages/caf_support.hpp"

namespace storage {

// A worker seen from the dispatcher: may the caller run this request itself?
class inline_runner {
 public:
  virtual ~inline_runner() = default;

  // Runs `what` on the caller's thread and sends the reply from `worker`
  // to what's sender, if the adapter is free and the worker's
  // inline_policy admits `caller`, whose thread this is (a plain thread
  // that would only wait for the reply, see waiting_caller.hpp), or the
  // request (a read that waits for no lock, runs_at_once). The sender is
  // the caller, or what gathers the parts of a request split across
  // shards (shard_scatter.hpp).
  // False: nothing happened, enqueue it.
  virtual bool run_inline(caf::mailbox_element& what, const job_ticket& t,
                          caf::execution_unit* eu,
                          const caf::strong_actor_ptr& worker,
                          const caf::strong_actor_ptr& caller) = 0;
};

// Whether an actor may run `req` on its CAF scheduler thread under
// inline_policy::waiting_callers_and_ready_reads: a read that waits for no
// lock. Called with the worker's lock held.
inline bool runs_at_once(cache_backend&, store_op op,
                         const caf::type_erased_tuple&) {
  return is_point_read(op);
}
inline bool runs_at_once(vector_backend& b, store_op op,
                         const caf::type_erased_tuple& req) {
  return op == store_op::search && req.size() > 1 &&
         req.match_element<std::string>(1) &&
         b.searches_from_memory(req.get_as<std::string>(1));
}

// Whether `sender` is an actor that runs on threads of its own system's
// (a scheduler thread, or its own if detached), which sends from there. A
// node's stand-in for a client's caller is not: its requests arrive in the
// middleman's one thread, which carries every client's traffic and must not
// run a search (runtime/node_inbox.hpp).
inline bool is_scheduled_actor(const caf::strong_actor_ptr& sender) {
  return sender &&
         dynamic_cast<const caf::scheduled_actor*>(sender->get()) != nullptr;
}

template <class Backend>
class worker_core final : public inline_runner {
 public:
  using runner = caf::message (*)(Backend&, const caf::type_erased_tuple&);

  worker_core(
      std::function<std::unique_ptr<Backend>(deadline_clock::time_point)> make,
      std::string store, inline_policy callers_run, runner run,
      std::shared_ptr<store_metrics> metrics)
      : make_(std::move(make)),
        store_(std::move(store)),
        callers_run_(callers_run),
        run_(run),
        metrics_(std::move(metrics)) {}

  const std::string& store() const { return store_; }
  std::mutex& mutex() { return mtx_; }
  store_metrics& metrics() { return *metrics_; }

  // The adapter, made if needed for a request due by `deadline`: a connect
  // and login, or a locked file, is waited for no longer than that
  // (adapters/factories.hpp). Call with the lock held.
  Backend& backend(deadline_clock::time_point deadline) {
    if (!backend_) {
      try {
        backend_ = make_(deadline);
      } catch (const store_error& e) {
        // Made for a request: the failure is that request's (failure()
        // names its operation), not an "open" its caller never asked for.
        throw store_error(e.code(), e.message(), {}, e.store());
      }
    }
    return *backend_;
  }
  bool connected() const { return backend_ != nullptr; }
  // The adapter made already: only when connected().
  Backend& made() { return *backend_; }
  // Requests callers ran on their own threads. Call with the lock held.
  std::uint64_t inline_runs() const { return inline_runs_; }

  // `e` as the reply's error; drops the adapter if the connection is gone.
  // Call with the lock held.
  caf::error failure(const store_error& e, const char* op) {
    if (e.code() == errc::backend_unavailable && backend_) {
      backend_.reset();
      if (served_ && !lost_) {
        lost_ = true;
        metrics_->lost_log.note(
            [store = store_, why = e.message()](std::uint64_t n) {
              storage_log()->warn(
                  "store {}: connection lost ({}); the next request "
                  "reconnects ({} lost since the last report)",
                  store, why, n);
            });
      }
    }
    return to_caf_error(e.with_context(op, store_));
  }

  // A request succeeded: the connection works. Some adapters (pgvector,
  // Chroma) are made without reaching their server, so only this proves a
  // reconnect, and a server never reached counts none. Call with the lock
  // held (execute does; so must a batch run outside it).
  void answered() {
    served_ = true;
    if (!lost_) return;
    lost_ = false;
    metrics_->reconnected();
    metrics_->reconnect_log.note([store = store_](std::uint64_t n) {
      storage_log()->info(
          "store {}: reconnected ({} reconnect(s) since the last report)",
          store, n);
    });
  }

  // How a request went: its code and when it ended (zero for a request the
  // store made itself, see store_metrics::record).
  struct outcome {
    errc code = errc::ok;
    deadline_clock::time_point ended{};
  };

  // Runs one request with the ticket's deadline and returns its reply: the
  // values, or a caf::error (timeout, without running it, if the deadline
  // passed while it waited; `just_dispatched` skips that clock read for a
  // request that cannot have waited). Counts it in the store's metrics.
  // Call with the lock held.
  caf::message execute(const caf::type_erased_tuple& req, const job_ticket& t,
                       bool just_dispatched = false,
                       outcome* result = nullptr) {
    auto op = t.op != store_op::other ? t.op : op_of(req);
    auto code = errc::ok;
    auto reply = run_counted(req, t.deadline, !just_dispatched, op, code);
    auto ended = metrics_->record(op, code, t.start);
    if (result) *result = {code, ended};
    return reply;
  }

  bool run_inline(caf::mailbox_element& what, const job_ticket& t,
                  caf::execution_unit* eu, const caf::strong_actor_ptr& worker,
                  const caf::strong_actor_ptr& caller) override {
    auto may = admission(caller, t.op);
    if (may == admits::no) return false;
    // A part of a request split across shards is counted once, by what
    // gathers the parts, and carries no start: it reads the clock here.
    auto began = t.start != deadline_clock::time_point{}
                     ? t.start
                     : deadline_clock::now();
    std::unique_lock<std::mutex> guard(mtx_, std::try_to_lock);
    if (!guard.owns_lock() || began < hand_off_until_ ||
        (may == admits::if_ready &&
         !(backend_ && runs_at_once(*backend_, t.op, what.content()))))
      return false;
    // Admitted a moment ago on this thread: it has not waited.
    outcome out;
    auto reply = execute(what.content(), t, true, &out);
    ++inline_runs_;
    // The dispatcher stamped t.start, so out.ended is the metrics' own
    // clock read: deciding costs no other (a part, uncounted, reads it).
    auto ended = out.ended != deadline_clock::time_point{}
                     ? out.ended
                     : deadline_clock::now();
    if (callers_run_ != inline_policy::any_caller &&
        (out.code == errc::timeout || out.code == errc::backend_unavailable ||
         ended - began >= slow_inline_call))
      hand_off_until_ = ended + hand_off_for;
    guard.unlock();
    if (what.sender && what.mid.is_request())
      what.sender->enqueue(
          caf::make_mailbox_element(worker, what.mid.response_id(), {},
                                    std::move(reply)),
          eu);
    return true;
  }

 private:
  // Whether inline_policy lets this caller run `op` on its thread: always,
  // never, or if the adapter says the read waits for nothing (runs_at_once,
  // decided under the lock).
  enum class admits { no, yes, if_ready };
  admits admission(const caf::strong_actor_ptr& caller, store_op op) const {
    switch (callers_run_) {
      case inline_policy::never:
        return admits::no;
      case inline_policy::any_caller:
        return admits::yes;
      case inline_policy::waiting_callers:
        return is_waiting_caller(caller) ? admits::yes : admits::no;
      case inline_policy::waiting_callers_and_ready_reads:
        if (is_waiting_caller(caller)) return admits::yes;
        return is_read(op) && is_scheduled_actor(caller) ? admits::if_ready
                                                         : admits::no;
    }
    return admits::no;
  }

  caf::message run_counted(const caf::type_erased_tuple& req,
                           deadline_clock::time_point deadline,
                           bool check_deadline, store_op op, errc& code) {
    try {
      if (check_deadline && deadline_clock::now() >= deadline)
        throw store_error(errc::timeout,
                          "the deadline passed before the request started");
      auto& b = backend(deadline);
      b.set_deadline(deadline);
      auto reply = run_(b, req);
      answered();
      return reply;
    } catch (const store_error& e) {
      code = e.code();
      return caf::make_message(failure(e, to_string(op)));
    } catch (const std::exception& e) {
      code = errc::internal;
      return caf::make_message(to_caf_error(
          store_error(errc::internal, e.what(), to_string(op), store_)));
    }
  }

  // A caller's thread that waited on a stuck server or a locked file until
  // its deadline (or lost the connection) sends the next requests to the
  // worker's thread for a while: callers' threads are free again at once,
  // and those requests are bounded by max_inflight and the watchdog. So
  // does a call that merely took long (a faiss:// search of a large
  // collection, a big batch): the two hand-offs it saved are noise next to
  // it, while on the worker's thread the next ones can be answered
  // `timeout` by their deadline.
  static constexpr auto hand_off_for = std::chrono::seconds(1);
  static constexpr auto slow_inline_call = std::chrono::milliseconds(100);

  std::mutex mtx_;
  deadline_clock::time_point hand_off_until_{};
  std::uint64_t inline_runs_ = 0;
  std::function<std::unique_ptr<Backend>(deadline_clock::time_point)> make_;
  std::unique_ptr<Backend> backend_;
  bool served_ = false;  // a request has succeeded on some connection
  bool lost_ = false;    // the connection failed since; not yet made again
  std::string store_;
  inline_policy callers_run_;
  runner run_;
  std::shared_ptr<store_metrics> metrics_;
};

}  // namespace storage
