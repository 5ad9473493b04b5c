// The router's side of a live migration, shared by both routers: a second
// pool for the target, the ids written since the start (so the backfill never
// overwrites a newer write or undoes a delete), and an ordered log of mirror
// writes.
//
// Why a log: a write is mirrored to the target only once the source has
// answered it (the target gets the source's outcome, and for incr/add/expire
// the source's resulting state). Source replies for one key arrive in order,
// but a mirror that needs a second read (a state copy) would otherwise
// overtake a later write of the same key. Each write reserves its slot when
// it is dispatched; slots go out strictly in that order as they are filled,
// each to the target worker that owns its key, so the target applies every
// key's writes in the source's order.
#pragma once

#include <unordered_map>
#include <unordered_set>

#include "actors/live_protocol.hpp"
#include "actors/router_core.hpp"
#include "actors/store_worker.hpp"
#include "messages/filter.hpp"

namespace storage {

struct mirror_entry {
  bool ready = false;
  std::function<void()> send;  // empty: nothing to mirror
};

// One source part of a mirrored request: its slot and the source worker that
// serves it (a state copy must read from that same worker to stay in order).
template <class Worker>
struct mirror_slot {
  std::shared_ptr<mirror_entry> entry;
  Worker source;
};

template <class Worker>
using mirror_slots = std::shared_ptr<std::vector<mirror_slot<Worker>>>;

// How far the target may lag (mirrors queued or in flight) before the
// router holds new requests, and how far it must catch up to let them go.
// Without a bound a fast source (faiss) outruns a slow target (PostgreSQL)
// until mirrors time out in the target's mailboxes.
constexpr std::size_t max_backlog = 64;
constexpr std::size_t resume_backlog = 32;

template <class Pool>
struct dual_write {
  std::shared_ptr<Pool> target;
  live_link link;
  // False until the target holds the source's collections: mirrors wait.
  bool target_ready = false;
  // Scope: the collection (vector) or "" (cache).
  std::unordered_map<std::string, std::unordered_set<std::string>> touched;
  std::unordered_map<std::string, std::vector<filter>> deleted_where;
  std::unordered_set<std::string> wiped;  // dropped collections, cleared cache
  std::deque<std::shared_ptr<mirror_entry>> log;
  std::size_t target_inflight = 0;
  // Set while paused: called once the log and the target are idle, or with
  // the error that ended the migration.
  std::function<void(const caf::error&)> on_drained;

  std::size_t backlog() const { return log.size() + target_inflight; }

  // Whether a backfilled record would overwrite or resurrect live state.
  bool stale(const std::string& scope, const std::string& id,
             const metadata* m) const {
    if (wiped.count(scope)) return true;
    if (auto t = touched.find(scope); t != touched.end() && t->second.count(id))
      return true;
    if (m)
      if (auto f = deleted_where.find(scope); f != deleted_where.end())
        for (auto& w : f->second)
          if (w.matches(*m)) return true;
    return false;
  }
};

// The store the migration writes to, for errors.
template <class Self>
std::string target_name(Self* self) {
  auto& d = self->state.dual;
  return d ? d->target->spec.store : std::string{};
}

// Lets held requests go once the target caught up (or the migration ended).
template <class Self>
void unthrottle(Self* self) {
  auto& st = self->state;
  if (st.throttled && (!st.dual || st.dual->backlog() <= resume_backlog)) {
    st.throttled = false;
    run_deferred(self);
  }
}

template <class Self>
void check_drained(Self* self) {
  unthrottle(self);
  auto d = self->state.dual;
  if (d && d->on_drained && d->log.empty() && d->target_inflight == 0) {
    auto fn = std::move(d->on_drained);
    d->on_drained = nullptr;
    fn(caf::error{});
  }
}

// Ends dual-writing: the target pool's workers quit, the source stays
// authoritative, and nothing more is mirrored.
template <class Self>
void drop_target(Self* self) {
  auto d = std::move(self->state.dual);
  self->state.dual = nullptr;
  *self->state.side = nullptr;
  if (!d) return;
  unthrottle(self);
  publish(self);
  for (auto& w : d->target->workers)
    if (w) self->send(w, close_atom::value);
  if (d->on_drained) {
    auto fn = std::move(d->on_drained);
    fn(router_error(errc::backend_unavailable, "the live migration ended",
                    "migrate", d->target->spec.store));
  }
}

// The target failed: the migration fails, the callers never hear of it.
template <class Self>
void fail_migration(Self* self, const caf::error& e) {
  auto d = self->state.dual;
  if (!d) return;
  d->link.status->fail(from_caf_error(e, "migrate", d->target->spec.store));
  drop_target(self);
}

// Sends the ready head of the log to the target, in order.
template <class Self>
void pump(Self* self) {
  auto d = self->state.dual;
  if (!d || !d->target_ready) return;
  while (self->state.dual == d && !d->log.empty() && d->log.front()->ready) {
    auto e = std::move(d->log.front());
    d->log.pop_front();
    if (e->send) e->send();
  }
  check_drained(self);
}

// Reserves a slot in the log at dispatch time; nullptr when not migrating.
template <class Self>
std::shared_ptr<mirror_entry> reserve(Self* self) {
  auto& d = self->state.dual;
  if (!d) return nullptr;
  auto e = std::make_shared<mirror_entry>();
  d->log.push_back(e);
  if (d->backlog() >= max_backlog) self->state.throttled = true;
  return e;
}

template <class Self>
void fill(Self* self, const std::shared_ptr<mirror_entry>& e,
          std::function<void()> send) {
  if (!e) return;
  e->send = std::move(send);
  e->ready = true;
  pump(self);
}

// One request to target worker `i` (or by_caller: the mirrors, sent by the
// router as one caller, stay on one target worker while any is unfinished,
// so the target applies them in the log's order); a failure fails the
// migration. `done` hears the outcome (the backfill answers its caller from
// it).
template <class Reply, class Self, class MakeReq>
void target_send(Self* self, std::uint32_t i, MakeReq make_req,
                 std::function<void(const caf::error&, Reply*)> done = {}) {
  auto d = self->state.dual;
  if (!d) return;
  auto pool = d->target;
  caller_id me = self->id();
  pool->gauge->admit();
  auto w = pool->take(i, me);
  if (w == pool_gauge::no_worker) {
    pool->gauge->release(pool_gauge::no_worker, 0);
    auto e = router_error(errc::backend_unavailable,
                          "a target worker is being restarted", "migrate",
                          pool->spec.store);
    fail_migration(self, e);
    if (done) done(e, nullptr);
    return;
  }
  job_ticket t;
  t.deadline = deadline_clock::now() + pool->spec.timeout;
  t.token = load_token(pool->gauge, w,
                       i == std::decay_t<decltype(*pool)>::by_caller ? me : 0);
  t.caller = me;
  ++d->target_inflight;
  make_req(pool->workers[w], std::move(t))
      .then(
          [=](Reply& r) {
            --d->target_inflight;
            if (done) done(caf::error{}, &r);
            check_drained(self);
          },
          [=](caf::error& e) {
            --d->target_inflight;
            if (self->state.dual == d) fail_migration(self, e);
            if (done) done(e, nullptr);
          });
}

// Pauses the router (requests wait in order) until every mirror is applied;
// `then` runs with no error, or with the one that ended the migration, and
// must call resume(self) when its work is done.
template <class Self>
void pause_until_drained(Self* self,
                         std::function<void(const caf::error&)> then) {
  auto d = self->state.dual;
  if (!d) {
    then(router_error(errc::conflict, "no live migration in progress",
                      "migrate", self->state.pool->spec.store));
    return;
  }
  self->state.paused = true;
  d->on_drained = std::move(then);
  check_drained(self);
}

// Starts the target pool and dual-writing; the caller then makes the target
// ready (creates collections) and sets target_ready.
template <class Pool, class Self, class SpawnWorker>
caf::error start_dual(Self* self, const std::string& uri, live_link link,
                      SpawnWorker spawn_worker) {
  auto& st = self->state;
  if (st.dual || st.retired)
    return router_error(errc::conflict,
                        "a live migration of this store is in progress",
                        "migrate", st.pool->spec.store);
  try {
    auto spec = st.make_pool(uri);
    auto d = std::make_shared<dual_write<Pool>>();
    d->target = start_pool<Pool>(self, std::move(spec), spawn_worker);
    d->link = std::move(link);
    st.dual = d;
    *st.side = d->target;
    publish(self);  // every request through the router from now on
    return {};
  } catch (const store_error& e) {
    return to_caf_error(e.with_context("migrate", redact(uri)));
  }
}

// A target worker died: the migration fails (the target is not supervised
// while it is not yet authoritative). True if `dm` was about one.
template <class Self>
bool on_target_down(Self* self, const caf::down_msg& dm) {
  auto d = self->state.dual;
  if (!d) return false;
  for (auto& w : d->target->workers)
    if (w && w.address() == dm.source) {
      fail_migration(
          self, router_error(errc::backend_unavailable, "a target worker died",
                             "migrate", d->target->spec.store));
      return true;
    }
  return false;
}

// Switches the router to the target, keeping the source read-only.
template <class Self>
void switch_to_target(Self* self) {
  auto& st = self->state;
  auto d = std::move(st.dual);
  st.dual = nullptr;
  st.retired = st.pool;
  st.set_pool(d->target);
  *st.side = st.retired;
  ++st.generation;
  publish(self);
}

// Drops the retained source after cutover.
template <class Self>
caf::result<bool> finalize_migration(Self* self) {
  auto& st = self->state;
  if (!st.retired)
    return router_error(errc::conflict, "no cut-over migration to finalize",
                        "finalize", st.pool->spec.store);
  for (auto& w : st.retired->workers)
    if (w) self->send(w, close_atom::value);
  st.retired = nullptr;
  *st.side = nullptr;
  publish(self);
  return true;
}

// Before cutover: stop dual-writing, the source stays authoritative. After
// cutover an abort is refused: writes since then exist only on the target.
template <class Self>
caf::result<bool> abort_migration(Self* self, const live_link& link) {
  auto& st = self->state;
  if (st.dual && st.dual->link.status != link.status) return false;
  if (st.retired)
    return router_error(errc::conflict,
                        "the store already cut over to the target; writes "
                        "made since exist only there",
                        "abort", st.pool->spec.store);
  if (!st.dual) return false;
  drop_target(self);
  return true;
}

}  // namespace storage
