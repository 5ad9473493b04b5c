// Internal to the cache router: its state and the pieces its two source
// files share (cache_router.cpp: the cache interface; cache_live.cpp: live
// migration).
#pragma once

#include "actors/live/live_cutover.hpp"
#include "actors/routing/cache_router.hpp"

namespace storage::cache_detail {

using pool_type = worker_pool<cache_backend, cache_worker_actor>;
using worker = cache_worker_actor;
// An entry to mirror and the moment its TTL ends, fixed when the write went
// to the source: the time it waits in the log and in a batch does not
// lengthen the key's life on the target.
struct timed_entry {
  cache_entry entry;
  std::optional<std::chrono::steady_clock::time_point> expires;
};

// Keyed mirrors collected while the dual-write log is pumped, sent as one
// request per run of the same kind (dual_write.hpp's pump).
struct mirror_batch {
  enum { none, mset, del } kind = none;
  std::vector<timed_entry> entries;
  ids keys;
};

struct router_state : router_base<cache_backend, cache_worker_actor> {
  mirror_batch pending;
};
using self_ptr = cache_router_actor::stateful_pointer<router_state>;
using ms = std::chrono::milliseconds;
using values = std::vector<maybe_value>;

cache_scan_page merge_pages(std::vector<cache_scan_page>& parts,
                            std::uint32_t limit);
// mget over any pool: one worker, or each key from its shard.
void mget_on(self_ptr self, std::shared_ptr<pool_type> pool,
             caf::typed_response_promise<values> rp, const ids& keys,
             bool external);

// Dual-write hooks (see vector_router_state.hpp for the shape): *_sent when
// the source part is dispatched, *_done when the source answered.
std::shared_ptr<mirror_entry> keyed_sent(self_ptr self, const ids& keys);
void set_done(self_ptr self, const mirror_slot<worker>& slot,
              const cache_entry& e, bool ok);
void del_done(self_ptr self, const mirror_slot<worker>& slot, const ids& keys,
              bool ok);
void mset_done(self_ptr self, const mirror_slot<worker>& slot,
               const std::vector<cache_entry>& es, bool ok);
// After add, incr or expire was sent to `slot.source`: reads the key's
// resulting value and TTL from the same worker, and mirrors that state.
void copy_keys(self_ptr self, const mirror_slot<worker>& slot, const ids& keys);
std::shared_ptr<mirror_entry> clear_sent(self_ptr self);
void clear_done(self_ptr self, const std::shared_ptr<mirror_entry>& e,
                const caf::error* err);

// Sends the collected mirrors (set as the dual-write's flush).
void flush_mirrors(self_ptr self);

void live_begin(self_ptr self, caf::typed_response_promise<bool> rp,
                const std::string& uri, live_link link);
void live_backfill(self_ptr self, caf::typed_response_promise<std::uint64_t> rp,
                   const std::vector<cache_entry>& es);
// The backfill path: writes to the target the entries no live write
// touched since the start; unfill deletes such keys from it (a repair).
void backfill_entries(
    self_ptr self, const std::vector<cache_entry>& es,
    std::function<void(const caf::error&, std::uint64_t)> done);
void unfill_keys(self_ptr self, const ids& keys);

// Verification (cache_live_verify.cpp), see dual_write.hpp's recheck.
using verify_reply = caf::typed_response_promise<std::uint64_t, std::uint64_t,
                                                 std::string, ids, ids, ids>;
void live_verify(self_ptr self, verify_reply rp, bool from_target,
                 const std::string& cursor, bool repair);
void live_recheck(self_ptr self,
                  caf::typed_response_promise<std::uint64_t, std::uint64_t> rp);
void final_check(self_ptr self, std::function<void(const caf::error&)> then);
// Reads of the target pool; `make_req(worker, ticket)` is the request.
template <class Reply, class MakeReq>
void target_read(self_ptr self, caf::typed_response_promise<Reply> rp,
                 const std::string& key, const char* op, MakeReq make_req) {
  auto& d = self->state.dual;
  if (!d)
    return rp.deliver(router_error(errc::conflict,
                                   "no live migration in progress", op,
                                   self->state.pool->spec.store)),
           void();
  ask_pool<Reply>(
      self, d->target, rp, {d->target->for_key(key)}, op,
      [=](const worker& w, std::size_t, job_ticket t) {
        return make_req(w, std::move(t));
      },
      first<Reply>);
}

}  // namespace storage::cache_detail
