// A search of a store split into in-process shards (faiss://, memory://
// has none), sent from the caller's thread without the router: one part per
// shard, to that shard's worker -- or run by the caller itself when the
// worker is idle and its inline_policy admits the caller -- and one reply
// merged from all parts, sent to the caller by whichever thread delivers
// the last part. The parts' replies go to a small actor without a mailbox
// that merges them during their enqueue, as the dispatcher decides during
// its own; the router's one mailbox is not on the path, so searches of many
// callers run side by side on the shards.
//
// Order is as for a single-shard request: every part enters its worker's
// FIFO mailbox (or runs at once, the worker holding nothing) before the
// caller's next request is dispatched, so each shard answers after the
// caller's earlier writes to it and before its later ones. A caller whose
// earlier request the router still holds is not sent here (the dispatcher
// forwards its search to the router, behind that request).
#pragma once

#include <vector>

#include <caf/all.hpp>

#include "actors/pool/job.hpp"
#include "messages/interfaces.hpp"

namespace storage {

struct route;
class store_metrics;

using hits = std::vector<search_hit>;
using batch_hits = std::vector<std::vector<search_hit>>;

// The k closest of all parts' hits, ties by id.
hits merge_hits(std::vector<hits>& parts, std::uint32_t k);
// merge_hits per query of a batch; a part short of a query adds nothing.
batch_hits merge_batch_hits(std::vector<batch_hits>& parts, std::size_t queries,
                            std::uint32_t k);

// Whether `req` is a search (one query or a batch) scatter_search can send.
bool is_shard_search(const caf::type_erased_tuple& req);

// Sends `what` (is_shard_search, already admitted: `t` holds its deadline,
// start and caller, not yet a token) to every shard of `r` and answers its
// sender once, from `self`, with the merged hits or the first error; counts
// it in `metrics` once. If a shard's worker is being restarted, nothing is
// sent and the caller gets backend_unavailable.
void scatter_search(caf::mailbox_element_ptr what, job_ticket t, const route& r,
                    std::shared_ptr<store_metrics> metrics,
                    caf::execution_unit* eu, const caf::strong_actor_ptr& self);

}  // namespace storage
