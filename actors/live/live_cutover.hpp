// The end of a live migration in the router: cutover (the pools trade
// places, writes are mirrored back to the source), finalize and abort.
// Each records its step in the journal before it moves authority.
#pragma once

#include "actors/live/dual_write.hpp"

namespace storage {

// Records `step` through the migration's journal hook; the error to answer
// with when it could not be recorded.
template <class Self>
caf::error record_step(Self* self, live_step step) {
  auto d = self->state.dual;
  if (!d || !d->link.record) return {};
  try {
    d->link.record(step);
    return {};
  } catch (const store_error& e) {
    return to_caf_error(
        e.with_context("migrate", self->state.pool->spec.store));
  }
}

// Once every mirror landed, and (with `verify`) final_check(self, then)
// found what was left to recheck equal on both sides, records the cutover;
// then the pools trade places: the target serves and the source receives
// the mirrors (reverse replication) until finalize or abort. Recording
// first means a crash right after the switch restarts on the target, and a
// crash before it on the source, which then still holds every acknowledged
// write. Writes wait only for this (drain, final check, record, switch).
template <class Self, class Check>
void cut_over(Self* self, caf::typed_response_promise<bool> rp, bool verify,
              Check final_check) {
  pause_until_drained(self, [=](const caf::error& e) mutable {
    if (e) return rp.deliver(e), resume(self);
    auto d = self->state.dual;
    auto go = [=](const caf::error& err) mutable {
      if (err) return rp.deliver(err), resume(self);
      if (self->state.dual != d)
        return rp.deliver(router_error(errc::backend_unavailable,
                                       "the live migration ended", "migrate",
                                       d->target->spec.store)),
               resume(self);
      if (auto failed = record_step(self, live_step::cut_over))
        return rp.deliver(failed), resume(self);
      auto& st = self->state;
      auto source = st.pool;
      st.set_pool(d->target);
      d->target = source;
      d->reversed = true;
      d->hold = !source->spec.sharded;
      // Only the backfill and verification needed these; reverse
      // replication would grow them for as long as it runs.
      d->touched.clear();
      d->deleted_where.clear();
      d->wiped.clear();
      d->recheck.clear();
      *st.side = source;
      ++st.generation;
      publish(self);
      rp.deliver(true);
      resume(self);
    };
    if (verify)
      final_check(self, go);
    else
      go(caf::error{});
  });
}

// Ends reverse replication after cutover: the source gets no more writes
// and its pool closes. Its data is kept as it was at this moment (see
// runtime/live_migration.hpp for why).
template <class Self>
void finalize_migration(Self* self, caf::typed_response_promise<bool> rp) {
  auto& st = self->state;
  if (!st.dual || !st.dual->reversed)
    return rp.deliver(router_error(errc::conflict,
                                   "no cut-over migration to finalize",
                                   "finalize", st.pool->spec.store)),
           void();
  if (auto err = record_step(self, live_step::finalized))
    return rp.deliver(err), void();
  drop_target(self);
  rp.deliver(true);
}

// Stops the migration `link` belongs to (false: it is not running here).
// Before cutover the target is dropped and the source stays authoritative.
// After cutover the router waits until every write reached the source,
// records the abort, and the pools trade places back: the source serves
// with every acknowledged write, and the target pool closes.
template <class Self>
void abort_migration(Self* self, caf::typed_response_promise<bool> rp,
                     const live_link& link) {
  auto& st = self->state;
  auto d = st.dual;
  if (!d || d->link.status != link.status) return rp.deliver(false), void();
  if (!d->reversed) {
    drop_target(self);
    return rp.deliver(true), void();
  }
  pause_until_drained(self, [=](const caf::error& e) mutable {
    // The mirror to the source failed while draining: it missed writes.
    if (e) return rp.deliver(e), resume(self);
    if (auto err = record_step(self, live_step::aborted))
      return rp.deliver(err), resume(self);
    auto& st = self->state;
    auto target = st.pool;
    st.set_pool(d->target);
    d->target = target;
    ++st.generation;
    drop_target(self);
    rp.deliver(true);
    resume(self);
  });
}

}  // namespace storage
