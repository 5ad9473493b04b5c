// Internal to the vector router: its state and the pieces its source files
// share (vector_router.cpp: the store interface; vector_router_search.cpp:
// searches; vector_live.cpp: live migration).
#pragma once

#include "actors/live/live_cutover.hpp"
#include "actors/pool/hit_merge.hpp"
#include "actors/routing/vector_router.hpp"

namespace storage::vector_detail {

using pool_type = worker_pool<vector_backend, vector_worker_actor>;
using worker = vector_worker_actor;
// Keyed mirrors collected while the dual-write log is pumped, sent as one
// request per run of the same kind and collection (dual_write.hpp's pump).
struct mirror_batch {
  enum { none, upsert, remove } kind = none;
  std::string collection;
  records upserts;
  ids removals;
};

struct router_state : router_base<vector_backend, vector_worker_actor> {
  mirror_batch pending;
};
using self_ptr = vector_router_actor::stateful_pointer<router_state>;
using specs = std::vector<collection_spec>;
using ms = std::chrono::milliseconds;

// One worker for reads on shared backends; every shard otherwise.
std::vector<std::uint32_t> readers(pool_type& pool);
scan_page merge_pages(std::vector<scan_page>& parts, std::uint32_t limit);

// Searches (vector_router_search.cpp): on the readers, merged per query
// (merge_hits, hit_merge.hpp).
void search(self_ptr self, caf::typed_response_promise<hits> rp,
            const std::string& c, const search_request& req);
void search_batch(self_ptr self, caf::typed_response_promise<batch_hits> rp,
                  const std::string& c, const batch_search_request& req);

// Dual-write hooks for the write handlers. The *_sent hooks run when the
// source part is dispatched (they record what it touches and reserve its
// mirror slot); the *_done hooks when the source answered.
std::shared_ptr<mirror_entry> keyed_sent(self_ptr self, const std::string& c,
                                         const ids& xs);
void upsert_done(self_ptr self, const mirror_slot<worker>& slot,
                 const std::string& c, const records& rs, bool ok);
void delete_done(self_ptr self, const mirror_slot<worker>& slot,
                 const std::string& c, const ids& xs, bool ok);
std::shared_ptr<mirror_entry> delete_where_sent(self_ptr self,
                                                const std::string& c,
                                                const filter& where);
void delete_where_done(self_ptr self, const std::shared_ptr<mirror_entry>& e,
                       const std::string& c, const filter& where,
                       const caf::error* err);
void create_done(self_ptr self, const std::shared_ptr<mirror_entry>& e,
                 const collection_spec& spec, const caf::error* err);
std::shared_ptr<mirror_entry> drop_sent(self_ptr self, const std::string& c);
void drop_done(self_ptr self, const std::shared_ptr<mirror_entry>& e,
               const std::string& c, const caf::error* err);

// Sends the collected mirrors (set as the dual-write's flush).
void flush_mirrors(self_ptr self);

// The live-migration handlers.
void live_begin(self_ptr self, caf::typed_response_promise<specs> rp,
                const std::string& uri, live_link link);
void live_backfill(self_ptr self, caf::typed_response_promise<std::uint64_t> rp,
                   const std::string& c, const records& rs);
// The backfill path: writes to the target the records no live write
// touched since the start; unfill deletes such ids from it (a repair).
void backfill_records(
    self_ptr self, const std::string& c, const records& rs,
    std::function<void(const caf::error&, std::uint64_t)> done);
void unfill_records(self_ptr self, const std::string& c, const ids& xs);

// Verification (vector_live_verify.cpp), see dual_write.hpp's recheck.
using verify_reply = caf::typed_response_promise<std::uint64_t, std::uint64_t,
                                                 std::string, ids, ids, ids>;
void live_verify(self_ptr self, verify_reply rp, const std::string& c,
                 const std::string& after, bool repair);
void live_recheck(self_ptr self,
                  caf::typed_response_promise<std::uint64_t, std::uint64_t> rp);
void live_dropped(self_ptr self, caf::typed_response_promise<ids> rp);
void final_check(self_ptr self, std::function<void(const caf::error&)> then);
// Reads and creates on the target pool.
void target_create(self_ptr self, caf::typed_response_promise<bool> rp,
                   const collection_spec& spec);
void target_list(self_ptr self, caf::typed_response_promise<specs> rp);
void target_count(self_ptr self, caf::typed_response_promise<std::uint64_t> rp,
                  const std::string& c);
void target_get(self_ptr self, caf::typed_response_promise<records> rp,
                const std::string& c, const ids& xs);
void target_scan(self_ptr self, caf::typed_response_promise<scan_page> rp,
                 const std::string& c, const std::string& after,
                 std::uint32_t limit);

}  // namespace storage::vector_detail
