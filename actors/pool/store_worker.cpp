#include "actors/pool/store_worker.hpp"

#include <caf/all.hpp>

#include "actors/pool/bounced_replies.hpp"
#include "actors/pool/cache_batch.hpp"
#include "actors/pool/job.hpp"
#include "actors/pool/request_exec.hpp"
#include "actors/pool/upsert_group.hpp"
#include "actors/pool/worker_linger.hpp"
#include "messages/caf_support.hpp"
#include "messages/validation.hpp"

namespace storage {

namespace {

// A reply as a handler's result: an error travels as CAF's error reply.
caf::result<caf::message> as_result(caf::message reply) {
  if (reply.match_elements<caf::error>()) return reply.get_as<caf::error>(0);
  return reply;
}

// Sends a handler's result now instead of after the handler, so the worker
// can linger for the next request with the reply already on its way; CAF
// then sends nothing more. A result still to come (a batch's promise) is
// left alone.
caf::result<caf::message> reply_then_linger(caf::scheduled_actor* self,
                                            caf::result<caf::message> r,
                                            worker_linger& linger) {
  if (r.flag == caf::rt_value || r.flag == caf::rt_error) {
    auto rp = self->make_response_promise();
    if (r.flag == caf::rt_error)
      rp.deliver(std::move(r.err));
    else
      rp.deliver(std::move(r.value));
    r = rp;
  }
  linger.after_reply(self);
  return r;
}

using vector_core = worker_core<vector_backend>;
using cache_core = worker_core<cache_backend>;

struct vector_worker_state {
  std::shared_ptr<vector_core> core;
  upsert_group group;
  bool flush_pending = false;  // a vflush is on its way through the mailbox
  worker_linger linger;

  void flush_now() {
    std::lock_guard<std::mutex> guard(core->mutex());
    group.run(*core);
  }
};

using vector_self = caf::stateful_actor<vector_worker_state>*;

// One vector request, on the adapter, under the core's lock (a caller may
// be running one inline). An upsert on an in-process shard that finds
// others waiting behind it joins the group (upsert_group.hpp), which runs
// when the mailbox has drained, when it is full, when a request that cannot
// join arrives, or at the latest when the vflush sent now comes up; alone,
// or on a server backend, a request runs at once.
caf::result<caf::message> vector_request(vector_self self,
                                         caf::message_view& x) {
  auto& st = self->state;
  auto& core = *st.core;
  auto ticket = take_ticket(self);
  st.linger.on_request(ticket.start);
  std::lock_guard<std::mutex> guard(core.mutex());
  auto& req = x.content();
  bool grouped = req.match_elements<vupsert_atom, std::string, records>() &&
                 core.connected() && core.made().capabilities().in_process &&
                 !(st.group.empty() && self->mailbox().empty());
  if (!grouped) {
    st.group.run(core);
    return as_result(core.execute(req, ticket));
  }
  auto msg = x.move_content_to_message();
  auto& c = msg.get_as<std::string>(1);
  auto& rs = msg.get_mutable_as<records>(2);  // a copy only if shared
  try {
    validate_collection_name(c);
    validate_batch(rs);
    if (ticket.expired())
      throw store_error(errc::timeout,
                        "the deadline passed before the request started");
  } catch (const store_error& e) {
    core.metrics().record(store_op::upsert, e.code(), ticket.start);
    return core.failure(e, "upsert");
  }
  if (!st.group.fits(c, rs)) st.group.run(core);
  auto rp = self->make_response_promise();
  st.group.add(c, std::move(rs), rp, std::move(ticket));
  if (st.group.records() >= upsert_group::max_records ||
      self->mailbox().empty()) {
    st.group.run(core);
  } else if (!st.flush_pending) {
    st.flush_pending = true;
    self->send(self, vflush_atom::value);
  }
  return rp;
}

caf::behavior vector_worker(vector_self self,
                            std::shared_ptr<vector_core> core) {
  self->state.core = std::move(core);
  survive_bounced_replies(self);
  self->set_default_handler([self](caf::scheduled_actor*,
                                   caf::message_view& x) {
    return reply_then_linger(self, vector_request(self, x), self->state.linger);
  });
  return {
      [=](vflush_atom) {
        self->state.flush_pending = false;
        self->state.flush_now();
        self->state.linger.after_reply(self);
      },
      [=](close_atom) {
        self->state.flush_now();
        self->quit();
      },
  };
}

struct cache_worker_state {
  std::shared_ptr<cache_core> core;
  cache_batch batch;
  bool flush_pending = false;  // a cflush is on its way through the mailbox
  std::uint64_t requests = 0;  // single-key requests received
  std::uint64_t calls = 0;     // adapter calls made for them
  worker_linger linger;

  // Runs the pending batch; call with the core's lock held.
  void flush() {
    if (batch.empty()) return;
    ++calls;
    batch.run(*core);
  }

  void flush_now() {
    std::lock_guard<std::mutex> guard(core->mutex());
    flush();
  }
};

using cache_self = caf::stateful_actor<cache_worker_state>*;

// One cache request. A single-key request alone in the mailbox (or on an
// adapter that cannot batch) runs at once, exactly as an unbatched worker
// would, so one caller waits no longer than before. With more requests
// waiting it joins the batch, which runs when the mailbox has drained,
// when it is full, or at the latest when the cflush sent now comes up: the
// mailbox is FIFO, so every request that was waiting is in the batch by
// then. Requests never overtake each other: only an empty batch lets one
// run at once, and clear and scan run the batch first.
caf::result<caf::message> cache_request(cache_self self, caf::message_view& x) {
  auto& st = self->state;
  auto& core = *st.core;
  auto& req = x.content();
  auto ticket = take_ticket(self);
  st.linger.on_request(ticket.start);
  std::lock_guard<std::mutex> guard(core.mutex());
  std::optional<cache_op> op;
  try {
    op = decode_cache_op(req);
  } catch (const store_error& e) {
    auto failed = op_of(req);
    core.metrics().record(failed, e.code(), ticket.start);
    return core.failure(e, to_string(failed));
  }
  if (!op) {  // clear, scan: whatever arrived before them runs first
    st.flush();
    return as_result(core.execute(req, ticket));
  }
  ++st.requests;
  bool batching = core.connected() && core.made().capabilities().batching;
  if (st.batch.empty() && (self->mailbox().empty() || !batching)) {
    ++st.calls;
    return as_result(core.execute(req, ticket));
  }
  if (ticket.expired()) {
    core.metrics().record(op_of(op->kind), errc::timeout, ticket.start);
    return to_caf_error(store_error(
        errc::timeout, "the deadline passed before the request started",
        op_name(op->kind), core.store()));
  }
  auto rp = self->make_response_promise();
  st.batch.add(std::move(*op), rp, std::move(ticket));
  if (st.batch.size() >= cache_batch::max_size || self->mailbox().empty()) {
    st.flush();
  } else if (!st.flush_pending) {
    st.flush_pending = true;
    self->send(self, cflush_atom::value);
  }
  return rp;
}

caf::behavior cache_worker(cache_self self, std::shared_ptr<cache_core> core) {
  self->state.core = std::move(core);
  survive_bounced_replies(self);
  self->set_default_handler([self](caf::scheduled_actor*,
                                   caf::message_view& x) {
    return reply_then_linger(self, cache_request(self, x), self->state.linger);
  });
  return {
      [=](cflush_atom) {
        self->state.flush_pending = false;
        self->state.flush_now();
        self->state.linger.after_reply(self);
      },
      [=](wstats_atom) {
        // A request a caller ran itself was one request and one call.
        auto& st = self->state;
        std::lock_guard<std::mutex> guard(st.core->mutex());
        auto mine = st.core->inline_runs();
        return caf::make_message(st.requests + mine, st.calls + mine);
      },
      [=](close_atom) {
        self->state.flush_now();
        self->quit();
      },
  };
}

// A detached worker running `behavior` over a new core for shard/connection
// `index` of `spec`.
template <class Worker, class Backend, class Behavior, class Run>
spawned_worker<Worker> spawn_with_core(caf::actor_system& sys,
                                       const pool_spec<Backend>& spec,
                                       std::uint32_t index, Behavior behavior,
                                       Run run) {
  auto make = spec.make_backend;
  // A pool made outside a store (a test's) counts into metrics of its own.
  auto metrics =
      spec.metrics ? spec.metrics : std::make_shared<store_metrics>();
  auto core = std::make_shared<worker_core<Backend>>(
      [make, index](open_deadline deadline) { return make(index, deadline); },
      spec.store, spec.callers_run, run, std::move(metrics));
  auto w = sys.spawn<caf::detached>(behavior, core);
  return {caf::actor_cast<Worker>(w), core};
}

}  // namespace

spawned_worker<vector_worker_actor> spawn_vector_worker(
    caf::actor_system& sys, const pool_spec<vector_backend>& spec,
    std::uint32_t index) {
  return spawn_with_core<vector_worker_actor>(sys, spec, index, vector_worker,
                                              run_vector_request);
}

spawned_worker<cache_worker_actor> spawn_cache_worker(
    caf::actor_system& sys, const pool_spec<cache_backend>& spec,
    std::uint32_t index) {
  return spawn_with_core<cache_worker_actor>(sys, spec, index, cache_worker,
                                             run_cache_request);
}

}  // namespace storage
