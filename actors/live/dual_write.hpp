// The router's side of a live migration, shared by both routers: a second
// pool for the target, the ids written since the start (so the backfill never
// overwrites a newer write or undoes a delete, and verification knows what to
// compare again), and an ordered log of mirror writes. After cutover the two
// pools trade places and the same machinery mirrors every write back to the
// source (reverse replication) until finalize or abort.
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

#include <algorithm>
#include <chrono>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "actors/live/live_protocol.hpp"
#include "actors/live/live_util.hpp"
#include "actors/pool/store_worker.hpp"
#include "actors/routing/router_pool.hpp"
#include "messages/filter.hpp"
#include "messages/store_uri.hpp"

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
  // When the part went to the source: a mirrored TTL counts from here, not
  // from when the mirror leaves (cache_live.cpp).
  std::chrono::steady_clock::time_point sent = std::chrono::steady_clock::now();
};

template <class Worker>
using mirror_slots = std::shared_ptr<std::vector<mirror_slot<Worker>>>;

// How far the target may lag (log entries, plus mirror requests on their
// way) before the router holds new requests, and how far it must catch up
// to let them go: without a bound a fast source (faiss) outruns a slow
// target (PostgreSQL) until mirrors time out in the target's mailboxes. A
// held caller waits for the target to apply half the bound, so on a
// one-connection target the bound follows the mirrors' measured cost: about
// lag_budget of work (an entry into pgvector's HNSW graph costs ~1.5 ms
// here, into a table without the index ~0.1 ms), between min_backlog and
// max_backlog entries. The cutover's pause drains the same backlog.
constexpr std::size_t max_backlog = 16;
constexpr std::size_t min_backlog = 4;
constexpr double lag_budget_ms = 8;

template <class Pool>
struct dual_write {
  std::shared_ptr<Pool> target;
  live_link link;
  // False until the target holds the source's collections: mirrors wait.
  bool target_ready = false;
  // After cutover: `target` is the old source, receiving the mirrors of
  // what the new primary (the old target) answered.
  bool reversed = false;
  // The mirror side has one connection for the mirrors (not in-process
  // shards): mirrors are held while one is on its way, and `flush`
  // (set by the router) sends what the mirrors' sends collected (see pump).
  bool hold = false;
  std::function<void()> flush;
  // True while pump sends: keyed mirrors are collected for `flush` then.
  bool collecting = false;
  // Requests pump sent that are on their way (mirrors only: a backfill
  // running alongside must not hold them back).
  bool pumping = false;
  std::size_t mirrors_inflight = 0;
  // Scope: the collection (vector) or "" (cache).
  std::unordered_map<std::string, std::unordered_set<std::string>> touched;
  std::unordered_map<std::string, std::vector<filter>> deleted_where;
  std::unordered_set<std::string> wiped;  // dropped collections, cleared cache
  // Ids to compare again before cutover, by scope: every id written since
  // the start and every difference verification met on a touched id. The
  // pages of the first comparison cannot judge them (a mirror may still be
  // on its way); the final check, with writes paused and mirrors drained,
  // can.
  std::unordered_map<std::string, std::unordered_set<std::string>> recheck;
  std::deque<std::shared_ptr<mirror_entry>> log;
  std::size_t target_inflight = 0;
  // One-connection target: the round of mirrors on its way (when it went
  // out, how many entries it carries) and the cost per entry measured over
  // the last rounds (ms, moving average; 0 until measured).
  std::chrono::steady_clock::time_point round_began;
  std::size_t round_entries = 0;
  double entry_ms = 0;
  // Set while paused: called once the log and the target are idle, or with
  // the error that ended the migration.
  std::function<void(const caf::error&)> on_drained;

  std::size_t backlog() const { return log.size() + target_inflight; }

  // The backlog that holds new requests (see lag_budget_ms).
  std::size_t lag_bound() const {
    if (!hold || entry_ms <= 0) return max_backlog;
    auto n = static_cast<std::size_t>(lag_budget_ms / entry_ms);
    return std::clamp(n, min_backlog, max_backlog);
  }

  // The mirrors of the round on its way were all answered.
  void round_done() {
    if (round_entries == 0) return;
    std::chrono::duration<double, std::milli> took =
        std::chrono::steady_clock::now() - round_began;
    double per = took.count() / static_cast<double>(round_entries);
    entry_ms = entry_ms <= 0 ? per : 0.7 * entry_ms + 0.3 * per;
    round_entries = 0;
  }

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
  if (st.throttled &&
      (!st.dual || st.dual->backlog() <= st.dual->lag_bound() / 2)) {
    st.throttled = false;
    run_deferred(self);
  }
}

template <class Self>
void check_drained(Self* self) {
  unthrottle(self);
  auto d = self->state.dual;
  self->state.table->metrics->set_mirror_lag(d ? d->backlog() : 0);
  if (d && d->on_drained && d->log.empty() && d->target_inflight == 0) {
    auto fn = std::move(d->on_drained);
    d->on_drained = nullptr;
    fn(caf::error{});
  }
}

// Ends mirroring: the mirror side's workers quit (the target before
// cutover, the source after it), the serving pool stays, and nothing more
// is mirrored.
template <class Self>
void drop_target(Self* self) {
  auto d = std::move(self->state.dual);
  self->state.dual = nullptr;
  *self->state.side = nullptr;
  if (!d) return;
  self->state.table->metrics->set_mirror_lag(0);
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

// Sends the ready head of the log to the target, in order. On a
// one-connection target (`hold`) no mirror goes out while another round is
// on its way: the entries that became ready meanwhile go out together when
// it returns, merged by the router's `flush` into as few requests as their
// order allows (group commit: one upsert of 16 records costs PostgreSQL
// without an index little more than one of 1). A round carries at most
// half the lag bound, so a caller held by the bound waits for about one
// round.
template <class Self>
void pump(Self* self) {
  auto d = self->state.dual;
  if (!d || !d->target_ready) return;
  if (!(d->hold && d->mirrors_inflight > 0)) {
    auto ready = [&] {
      return self->state.dual == d && !d->log.empty() && d->log.front()->ready;
    };
    auto limit = d->hold ? std::max<std::size_t>(1, d->lag_bound() / 2)
                         : std::numeric_limits<std::size_t>::max();
    std::size_t sent = 0;
    d->pumping = true;
    // Until a request is on its way: entries may hold nothing to send.
    do {
      sent = 0;
      d->collecting = d->hold && bool(d->flush);
      while (ready() && sent < limit) {
        auto e = std::move(d->log.front());
        d->log.pop_front();
        if (e->send) {
          e->send();
          ++sent;
        }
      }
      d->collecting = false;
      if (self->state.dual == d && d->flush) d->flush();
    } while (ready() && d->mirrors_inflight == 0);
    d->pumping = false;
    if (d->hold && d->mirrors_inflight > 0) {
      d->round_began = std::chrono::steady_clock::now();
      d->round_entries = sent;
    }
  }
  check_drained(self);
}

// How long the lag bound may hold the store's callers before the target
// counts as stalled (frozen, or far slower than measured): a quarter of the
// store's deadline, at least a second, at most half of it. A healthy target
// drains a held round in milliseconds (lag_budget_ms).
inline std::chrono::milliseconds stall_limit(
    std::chrono::milliseconds timeout) {
  using std::chrono::milliseconds;
  return std::min(timeout / 2, std::max(milliseconds(1000), timeout / 4));
}

// The throttle numbered `episode` still holds the callers after the stall
// limit: the migration fails (the source stays authoritative) and they go
// on, rather than wait for the target until their own deadline passes.
template <class Self>
void check_stall(Self* self, std::uint64_t episode) {
  auto& st = self->state;
  if (!st.throttled || st.throttles != episode || !st.dual) return;
  auto limit = stall_limit(st.pool->spec.timeout);
  storage_log()->warn(
      "store {}: its live migration's other side {} left {} mirrored "
      "write(s) unanswered for {} ms while callers waited; the migration "
      "ends and the store goes on without it",
      st.pool->spec.store, st.dual->target->spec.store, st.dual->backlog(),
      limit.count());
  fail_migration(self,
                 router_error(errc::timeout,
                              "mirrored writes were not answered within " +
                                  std::to_string(limit.count()) +
                                  " ms while the store's callers waited",
                              "migrate", st.dual->target->spec.store));
}

// Reserves a slot in the log at dispatch time; nullptr when not migrating.
template <class Self>
std::shared_ptr<mirror_entry> reserve(Self* self) {
  auto& d = self->state.dual;
  if (!d) return nullptr;
  auto e = std::make_shared<mirror_entry>();
  d->log.push_back(e);
  self->state.table->metrics->set_mirror_lag(d->backlog());
  if (!self->state.throttled && d->backlog() >= d->lag_bound()) {
    self->state.throttled = true;
    self->delayed_send(self, stall_limit(self->state.pool->spec.timeout),
                       live_stall_atom::value, ++self->state.throttles);
    publish(self);  // reads wait with the writes (see publish)
  }
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
  bool mirror = d->pumping;
  if (mirror) ++d->mirrors_inflight;
  make_req(pool->workers[w], std::move(t))
      .then(
          [=](Reply& r) {
            --d->target_inflight;
            if (mirror && --d->mirrors_inflight == 0) d->round_done();
            // Held mirrors first, then whatever `done` sends (a backfill's
            // next chunk): they alternate on the connection.
            pump(self);
            if (done) done(caf::error{}, &r);
            check_drained(self);
          },
          [=](caf::error& e) {
            --d->target_inflight;
            if (mirror && --d->mirrors_inflight == 0) d->round_entries = 0;
            if (self->state.dual == d) fail_migration(self, e);
            if (done) done(e, nullptr);
          });
}

// A one-connection target takes a backfill batch in chunks of this many
// items, one chunk at a time: mirrors queue on that same connection, and
// behind a whole batch (HNSW inserts into PostgreSQL: ~1 ms per record)
// every caller held by the backlog bound would wait for all of it.
constexpr std::size_t backfill_chunk = 25;

// Writes `items` to the target through `send(chunk, reply)` one chunk after
// the other, each filtered by `keep` only when it goes out: a live write
// between two chunks must win over the copy. `done` hears the count written
// or the first error.
template <class Self, class Item, class Keep, class Send>
void send_in_chunks(
    Self* self, std::shared_ptr<const std::vector<Item>> items, Keep keep,
    Send send, std::function<void(const caf::error&, std::uint64_t)> done) {
  struct progress {
    std::size_t next = 0;
    std::uint64_t written = 0;
  };
  auto d = self->state.dual;
  auto p = std::make_shared<progress>();
  one_after_another([=](std::function<void()> again) {
    if (self->state.dual != d)
      return done(
          router_error(errc::backend_unavailable, "the live migration ended",
                       "migrate", d->target->spec.store),
          0);
    std::vector<Item> chunk;
    while (p->next < items->size() && chunk.size() < backfill_chunk) {
      auto& x = (*items)[p->next++];
      if (keep(x)) chunk.push_back(x);
    }
    if (chunk.empty()) return done(caf::error{}, p->written);
    send(std::move(chunk), [=](const caf::error& err, std::uint64_t n) {
      if (err) return done(err, 0);
      p->written += n;
      again();
    });
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
  publish(self);  // reads wait too (see publish)
  d->on_drained = std::move(then);
  check_drained(self);
}

// Starts the target pool and dual-writing; the caller then makes the target
// ready (creates collections) and sets target_ready.
template <class Pool, class Self, class SpawnWorker>
caf::error start_dual(Self* self, const std::string& uri, live_link link,
                      SpawnWorker spawn_worker) {
  auto& st = self->state;
  if (st.dual)
    return router_error(errc::conflict,
                        "a live migration of this store is in progress",
                        "migrate", st.pool->spec.store);
  try {
    auto spec = st.make_pool(uri);
    auto d = std::make_shared<dual_write<Pool>>();
    d->target = start_pool<Pool>(self, std::move(spec), spawn_worker);
    d->link = std::move(link);
    d->hold = !d->target->spec.sharded;
    st.dual = d;
    *st.side = d->target;
    publish(self);  // every write through the router from now on
    return {};
  } catch (const store_error& e) {
    return to_caf_error(e.with_context("migrate", redact_uri(uri)));
  }
}

// A worker of the mirror side died: the migration fails before cutover
// (the target is not supervised while it is not authoritative), reverse
// replication ends after it. True if `dm` was about one.
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

}  // namespace storage
