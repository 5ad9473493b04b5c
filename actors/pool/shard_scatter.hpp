// A request about several shards of an in-process store (faiss://,
// memory://) sent from the caller's thread without the router: a search or
// count to every shard, a keyed batch (upsert, get or delete of several
// ids; mget, mset or del of several keys) split by id (shard_plan.hpp).
// Each part goes to its shard's worker -- or is run by the caller itself
// when the worker is idle and its inline_policy admits the caller, unless
// it is one of several parts of a search or an upsert (those run on the
// workers, side by side, and queued upserts join one transaction) -- and
// one reply, merged from all parts, goes to the caller from whichever
// thread delivers the last part. The parts' replies go to a small actor
// without a mailbox that merges them during their enqueue, as the
// dispatcher decides during its own; the router's one mailbox is not on
// the path, so many callers' requests run side by side on the shards.
//
// Order is as for a single-shard request: every part enters its worker's
// FIFO mailbox (or runs at once, the worker holding nothing) before the
// caller's next request is dispatched, so each shard applies it after the
// caller's earlier requests to that shard and before its later ones. A
// caller whose earlier request the router still holds is not sent here
// (the dispatcher forwards its request to the router, behind that one).
//
// A batch is atomic per shard, not across shards: a write some shards
// applied and one failed answers the first error, and what those shards
// applied stays (the interface headers say so). A batch that breaks the
// contract (a bad id, a duplicate record) is refused before any part goes.
#pragma once

#include <memory>

#include <caf/all.hpp>

#include "actors/pool/job.hpp"

namespace storage {

struct route;
class store_metrics;

// Sends `what` (already admitted: `t` holds its deadline, start, op and
// caller, not yet a token) to the shards of `r` it concerns and answers
// its sender once, from `self`, with the merged reply or the first error;
// counts it in `metrics` once. Returns false, having done nothing, if the
// dispatcher does not split this kind of request (plan_for_shards). If a
// shard's worker is being restarted, nothing is sent and the caller gets
// backend_unavailable.
bool scatter_to_shards(caf::mailbox_element& what, const job_ticket& t,
                       const route& r, std::shared_ptr<store_metrics> metrics,
                       caf::execution_unit* eu,
                       const caf::strong_actor_ptr& self);

}  // namespace storage
