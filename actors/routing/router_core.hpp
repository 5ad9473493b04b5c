// How a router sends one request to one or more workers: the request's
// deadline, caller and one unit of the bound shared by its parts, each part
// its worker's load, and a single reply merged from all parts. It handles what
// the dispatcher (actors/pool/store_dispatcher.hpp) does not send straight
// to a worker: requests while a store is swapped or migrated, requests
// about a whole collection or store on several in-process shards (a
// search, count or keyed batch goes from the dispatcher,
// actors/pool/shard_scatter.hpp), and a live migration's own traffic.
#pragma once

#include <deque>
#include <functional>

#include "actors/pool/job.hpp"
#include "actors/pool/store_dispatcher.hpp"
#include "actors/pool/worker_pool.hpp"
#include "actors/routing/scan_merge.hpp"
#include "messages/store_uri.hpp"

namespace storage {

template <class Pool>
struct dual_write;

// The router state both routers share.
template <class Backend, class Worker>
struct router_base {
  using pool_type = worker_pool<Backend, Worker>;
  pool_factory<Backend> make_pool;
  std::shared_ptr<pool_type> pool;
  std::uint64_t generation = 0;
  // Shared with the store's dispatcher: where it sends requests.
  std::shared_ptr<route_table> table;
  // The request being dispatched: its caller, its deadline, and when the
  // caller handed it to the store and what it asked (from the dispatcher's
  // ticket; a zero start: not a caller's, not counted).
  caller_id caller = 0;
  deadline_clock::time_point deadline;
  deadline_clock::time_point start;
  store_op op = store_op::other;
  // Its unit of the bound (null if it came without one), which its parts
  // share until the last of them is done.
  std::shared_ptr<load_token> unit;
  // Workers of a swapped-out pool still finishing their mailboxes; requests
  // wait (paused) until they are done, so none overtakes an earlier one.
  std::vector<caf::actor_addr> draining;
  // The current pool, shared with the router's exit hook: CAF destroys the
  // state before attached functors run.
  std::shared_ptr<std::shared_ptr<pool_type>> live =
      std::make_shared<std::shared_ptr<pool_type>>();
  // A migration's other pool (target before cutover, source after), for the
  // same exit hook.
  std::shared_ptr<std::shared_ptr<pool_type>> side =
      std::make_shared<std::shared_ptr<pool_type>>();
  // While paused (a live migration waits for its mirrors to drain), requests
  // wait here in arrival order, so per-key order survives the pause.
  bool paused = false;
  // Set while a live migration's target lags too far behind the source:
  // requests wait the same way, so callers slow to what both stores take.
  bool throttled = false;
  std::uint64_t throttles = 0;  // episodes so far, to tell a stale check
  std::deque<std::function<void()>> deferred;
  // A live migration, from its start until finalize or abort (see
  // dual_write.hpp).
  std::shared_ptr<dual_write<pool_type>> dual;

  void set_pool(std::shared_ptr<pool_type> p) {
    pool = p;
    *live = std::move(p);
  }
};

// Publishes where the dispatcher sends requests: straight to the workers
// when nothing needs the router (no migration, no swap draining), otherwise
// to the router -- but for the reads during a live migration (only writes
// need it) while it neither pauses nor throttles writes: reads that kept
// going while the lag bound held writes made every write, the verification
// and the cutover's pause slower (BENCHMARKS.md, "Reads during a live
// migration"). Going direct waits until
// no request forwarded to the router is still undispatched
// (route_table::go_direct).
template <class Self>
void publish(Self* self) {
  auto& st = self->state;
  auto& pool = *st.pool;
  auto r = std::make_shared<route>();
  bool holds_nothing =
      st.draining.empty() && !st.paused && !st.throttled && st.deferred.empty();
  r->direct = !st.dual && holds_nothing;
  r->reads_direct = st.dual && holds_nothing;
  r->sharded = pool.spec.sharded;
  for (auto& w : pool.workers)
    r->workers.push_back(caf::actor_cast<caf::strong_actor_ptr>(w));
  r->runners = pool.runners;
  r->gauge = pool.gauge;
  r->timeout = pool.spec.timeout;
  r->store = pool.spec.store;
  if (r->direct)
    st.table->go_direct(std::move(r));
  else
    st.table->via_router(std::move(r));
}

// The table a new store starts with: everything to the router (until it
// has its workers), already counted against the store's bound.
template <class Spec>
std::shared_ptr<route_table> first_table(const Spec& spec) {
  auto r = std::make_shared<route>();
  r->sharded = spec.sharded;
  r->gauge = std::make_shared<pool_gauge>(spec.size, spec.max_inflight);
  r->timeout = spec.timeout;
  r->store = spec.store;
  auto table = std::make_shared<route_table>();
  table->via_router(std::move(r));
  return table;
}

// Runs a request now, or later if the router is paused or throttled (or
// others already wait: they go first). The request keeps the deadline and
// caller the dispatcher gave it, and its unit of the bound, which passes to
// its parts when it is dispatched to workers.
template <class Self, class Fn>
void admit(Self* self, Fn fn) {
  auto& st = self->state;
  auto ticket = std::make_shared<job_ticket>();
  bool forwarded = false;
  if (auto* e = dynamic_cast<job_element*>(self->current_mailbox_element())) {
    *ticket = std::move(e->ticket);
    forwarded = true;
  }
  if (ticket->deadline == deadline_clock::time_point::max())
    ticket->deadline = deadline_clock::now() + st.pool->spec.timeout;
  auto run = [self, fn = std::move(fn), ticket, forwarded]() mutable {
    self->state.caller = ticket->caller;
    self->state.deadline = ticket->deadline;
    self->state.start = ticket->start;
    self->state.op = ticket->op;
    if (ticket->token)
      self->state.unit = std::make_shared<load_token>(std::move(ticket->token));
    fn();
    self->state.unit = nullptr;
    // Only now that it is with its workers (not while it waits in
    // `deferred`): until then this caller's later requests, the reads a
    // live migration sends straight included, must come here too.
    if (forwarded) self->state.table->taken(ticket->caller);
  };
  if (st.paused || st.throttled || !st.deferred.empty())
    st.deferred.emplace_back(std::move(run));
  else
    run();
}

// Runs what waited, in order, until something pauses or throttles again.
template <class Self>
void run_deferred(Self* self) {
  auto& st = self->state;
  while (!st.paused && !st.throttled && !st.deferred.empty()) {
    auto fn = std::move(st.deferred.front());
    st.deferred.pop_front();
    fn();
  }
  if (!st.paused && !st.throttled && st.deferred.empty()) publish(self);
}

// Ends a pause.
template <class Self>
void resume(Self* self) {
  self->state.paused = false;
  run_deferred(self);
}

// On the router's exit, every current worker quits after the requests
// already in its mailbox.
template <class Self, class Close>
void close_workers_on_exit(Self* self, Close close) {
  auto live = self->state.live;
  auto side = self->state.side;
  self->attach_functor([live, side, close] {
    for (auto* p : {live.get(), side.get()})
      if (*p)
        for (auto& w : (*p)->workers)
          if (w) caf::anon_send(w, close);
  });
}

// Fails the promise with the validation error `check` throws, if any (the
// request counted as answered with it), and says so.
template <class Self, class T, class Fn>
bool rejected(Self* self, caf::typed_response_promise<T> rp, const char* op,
              Fn&& check) {
  try {
    check();
    return false;
  } catch (const store_error& e) {
    auto& st = self->state;
    st.table->metrics->record(st.op, e.code(), st.start);
    rp.deliver(to_caf_error(e.with_context(op, st.pool->spec.store)));
    return true;
  }
}

inline caf::error router_error(errc code, const std::string& msg,
                               const char* op, const std::string& store) {
  return to_caf_error(store_error(code, msg, op, store));
}

// A worker's error as the caller sees it: our own errors pass through; a
// deadline or a dead worker become timeout or backend_unavailable.
inline caf::error caller_error(const caf::error& e, const char* op,
                               const std::string& store) {
  if (e.category() == error_category) return e;
  return to_caf_error(from_caf_error(e, op, store));
}

// Told of each part's outcome before the merge: (part, reply or nullptr,
// error or nullptr). Dual-write uses it to mirror each part on its own.
struct no_observer {
  template <class Reply>
  void operator()(std::size_t, Reply*, const caf::error*) const {}
};

// Sends one request per target of `pool` (a worker index, or by_caller) and
// calls done(error, parts) once: with every part, or with the first error.
// make_req(worker, part, ticket) returns the response handle of
// ask_worker(self, worker, std::move(ticket), ...): each part carries the
// request's deadline, its worker's load, and a share of the request's one
// unit of the bound (`unit`, or a unit taken here if that is null or of
// another pool), which goes when every worker is done with its part.
template <class Reply, class Self, class Pool, class MakeReq, class Done,
          class Observe = no_observer>
void scatter_as(Self*, std::shared_ptr<Pool> pool,
                std::vector<std::uint32_t> targets, caller_id caller,
                deadline_clock::time_point deadline,
                std::shared_ptr<load_token> unit, const char* op,
                MakeReq make_req, Done done, Observe observe = {}) {
  std::vector<Reply> none;
  if (targets.empty()) return done(caf::error{}, none);
  if (!unit || unit->gauge() != pool->gauge) {
    pool->gauge->admit();
    unit = std::make_shared<load_token>(pool->gauge, pool_gauge::no_worker, 0);
  }
  // Every worker is chosen before any part is sent: a request either goes
  // out whole or fails whole.
  std::vector<std::uint32_t> chosen;
  std::vector<load_token> tokens;
  for (auto t : targets) {
    auto i = pool->take(t, caller);
    if (i == pool_gauge::no_worker) {
      return done(
          router_error(errc::backend_unavailable, "a worker is being restarted",
                       op, pool->spec.store),
          none);
    }
    chosen.push_back(i);
    tokens.emplace_back(unit, i, t == Pool::by_caller ? caller : 0);
  }
  struct gather {
    std::vector<Reply> parts;
    std::size_t remaining;
    bool failed = false;
  };
  auto g = std::make_shared<gather>(
      gather{std::vector<Reply>(targets.size()), targets.size()});
  for (std::size_t part = 0; part < chosen.size(); ++part) {
    auto i = chosen[part];
    job_ticket t;
    t.deadline = deadline;
    t.token = std::move(tokens[part]);
    t.caller = caller;
    // Counted by fan_out, yet a caller's traffic (the router's own, from
    // scatter, has no caller): a worker's batch counters count it.
    t.part = caller != 0;
    make_req(pool->workers[i], part, std::move(t))
        .then(
            [=](Reply& r) mutable {
              pool->crashes[i] = 0;
              observe(part, &r, static_cast<const caf::error*>(nullptr));
              if (g->failed) return;
              g->parts[part] = std::move(r);
              if (--g->remaining == 0) done(caf::error{}, g->parts);
            },
            [=](caf::error& e) mutable {
              observe(part, static_cast<Reply*>(nullptr), &e);
              if (g->failed) return;
              g->failed = true;
              done(caller_error(e, op, pool->spec.store), g->parts);
            });
  }
}

// scatter_as for the router's own requests: no caller, a fresh deadline.
template <class Reply, class Self, class Pool, class MakeReq, class Done,
          class Observe = no_observer>
void scatter(Self* self, std::shared_ptr<Pool> pool,
             std::vector<std::uint32_t> targets, const char* op,
             MakeReq make_req, Done done, Observe observe = {}) {
  auto deadline = deadline_clock::now() + pool->spec.timeout;
  scatter_as<Reply>(self, std::move(pool), std::move(targets), 0, deadline,
                    nullptr, op, std::move(make_req), std::move(done),
                    std::move(observe));
}

// Sends one caller's request (the one admit() is running) to one or more
// workers of the current pool and delivers merge(parts) once all replied,
// or the first error. The dispatcher already admitted it against
// max_inflight.
//
// `rp` must be the handler's one promise: in CAF 0.17 making a promise moves
// the request's sender out of the mailbox element, so a second promise for
// the same request would answer nobody.
template <class Reply, class Final, class Self, class MakeReq, class Merge,
          class Observe = no_observer>
caf::typed_response_promise<Final> fan_out(
    Self* self, caf::typed_response_promise<Final> rp,
    std::vector<std::uint32_t> targets, const char* op, MakeReq make_req,
    Merge merge, Observe observe = {}) {
  auto& st = self->state;
  // Counted here, once, not by the workers that ran its parts.
  auto counted = [metrics = st.table->metrics, start = st.start,
                  asked = st.op](const caf::error& e) {
    metrics->record(asked, e ? from_caf_error(e, "", "").code() : errc::ok,
                    start);
  };
  scatter_as<Reply>(
      self, st.pool, std::move(targets), st.caller, st.deadline, st.unit, op,
      std::move(make_req),
      [rp, merge, counted](const caf::error& e,
                           std::vector<Reply>& parts) mutable {
        counted(e);
        if (e)
          rp.deliver(e);
        else
          rp.deliver(merge(parts));
      },
      std::move(observe));
  return rp;
}

// Like fan_out, for the router's own requests (a migration's reads of
// either pool): any pool, no caller, a fresh deadline.
template <class Reply, class Final, class Self, class Pool, class MakeReq,
          class Merge>
void ask_pool(Self* self, std::shared_ptr<Pool> pool,
              caf::typed_response_promise<Final> rp,
              std::vector<std::uint32_t> targets, const char* op,
              MakeReq make_req, Merge merge) {
  scatter<Reply>(
      self, std::move(pool), std::move(targets), op, std::move(make_req),
      [rp, merge](const caf::error& e, std::vector<Reply>& parts) mutable {
        if (e)
          rp.deliver(e);
        else
          rp.deliver(merge(parts));
      });
}

// Answers `rp` with a synchronous handler's result.
template <class T>
void deliver(caf::typed_response_promise<T>& rp, caf::result<T> r) {
  if (r.flag == caf::rt_error)
    rp.deliver(std::move(r.err));
  else
    rp.deliver(r.value.template get_as<T>(0));
}

// Every worker index, for fan-out to all shards.
inline std::vector<std::uint32_t> all_workers(std::uint32_t n) {
  std::vector<std::uint32_t> out(n);
  for (std::uint32_t i = 0; i < n; ++i) out[i] = i;
  return out;
}

// Where a request about the whole store goes: the caller's worker when the
// backend holds the state (so it comes after the caller's earlier requests
// and before its later ones), every shard when the workers do.
template <class Pool>
std::vector<std::uint32_t> everyone_or_one(Pool& pool) {
  if (pool.spec.sharded) return all_workers(pool.size());
  return {Pool::by_caller};
}

// The answer to a live-migration request when no migration runs.
template <class Self>
caf::error not_migrating(Self* self) {
  return router_error(errc::conflict, "no live migration in progress",
                      "migrate", self->state.pool->spec.store);
}

// During a live migration: sends each target worker its share of `items`
// (by key, as live writes are routed there), so per-key order holds.
template <class Self, class Item, class KeyOf, class Send>
void to_target_owners(Self* self, const std::vector<Item>& items, KeyOf key_of,
                      Send send) {
  auto& d = self->state.dual;
  if (!d) return;
  auto parts = partition(*d->target, items, key_of);
  for (std::uint32_t i = 0; i < parts.size(); ++i)
    if (!parts[i].empty())
      send(part_target(*d->target, i), pick(items, parts[i]));
}

// Merges for fan_out: the counts of all parts, or the only part.
inline std::uint64_t sum(std::vector<std::uint64_t>& parts) {
  std::uint64_t n = 0;
  for (auto x : parts) n += x;
  return n;
}

template <class T>
T first(std::vector<T>& parts) {
  return std::move(parts.front());
}

}  // namespace storage
