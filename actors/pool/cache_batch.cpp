#include "actors/pool/cache_batch.hpp"

#include <chrono>

#include <caf/all.hpp>

#include "actors/pool/request_exec.hpp"

namespace storage {

cache_batch::~cache_batch() {
  for (auto& rp : replies_)
    rp.deliver(
        to_caf_error(store_error(errc::backend_unavailable,
                                 "the worker stopped before the request ran")));
}

namespace {

// How far apart the deadlines of one execute()'s requests may lie: its I/O
// ends at the earliest of them, so no caller is answered after its own
// deadline (a stuck server would otherwise hold a batch's earlier requests
// until its last one's), and none more than this before it.
constexpr auto deadline_spread = std::chrono::milliseconds(50);

}  // namespace

void cache_batch::run(worker_core<cache_backend>& core) {
  if (empty()) return;
  // Taken out first: the batch must be empty again whatever happens below.
  auto ops = std::move(ops_);
  auto replies = std::move(replies_);
  auto tickets = std::move(tickets_);
  ops_.clear();
  replies_.clear();
  tickets_.clear();
  // Parts in arrival order whose deadlines all lie within deadline_spread
  // of each other; with one timeout_ms per store that is nearly always one
  // part (a node's clients may each have their own).
  for (std::size_t i = 0; i < ops.size();) {
    auto lo = tickets[i].deadline, hi = lo;
    auto j = i + 1;
    for (; j < ops.size(); ++j) {
      auto d = tickets[j].deadline;
      if (std::max(hi, d) - std::min(lo, d) > deadline_spread) break;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    run_part(core, ops, replies, tickets, i, j);
    i = j;
  }
}

void cache_batch::run_part(worker_core<cache_backend>& core,
                           std::vector<cache_op>& all_ops,
                           std::vector<caf::response_promise>& all_replies,
                           std::vector<job_ticket>& tickets, std::size_t begin,
                           std::size_t end) {
  // Ops past their deadline are answered now and never sent.
  std::vector<cache_op> ops;
  std::vector<caf::response_promise> replies;
  auto earliest = deadline_clock::time_point::max();
  auto& metrics = core.metrics();
  std::vector<deadline_clock::time_point> starts;
  std::size_t callers = 0;  // what the batch counters count
  for (std::size_t i = begin; i < end; ++i) {
    if (tickets[i].expired()) {
      metrics.record(op_of(all_ops[i].kind), errc::timeout, tickets[i].start);
      all_replies[i].deliver(to_caf_error(store_error(
          errc::timeout, "the deadline passed before the request ran",
          op_name(all_ops[i].kind), core.store())));
      continue;
    }
    earliest = std::min(earliest, tickets[i].deadline);
    starts.push_back(tickets[i].start);
    if (tickets[i].from_caller()) ++callers;
    ops.push_back(std::move(all_ops[i]));
    replies.push_back(std::move(all_replies[i]));
  }
  if (ops.empty()) return;
  metrics.batch_ran(callers);
  std::vector<cache_op_result> results;
  try {
    auto& backend = core.backend(earliest);
    backend.set_deadline(earliest);
    results = backend.execute(ops);
    if (results.size() != ops.size())
      throw store_error(errc::internal,
                        "the adapter answered " +
                            std::to_string(results.size()) + " of " +
                            std::to_string(ops.size()) + " batched requests");
  } catch (const store_error& e) {
    results.assign(ops.size(), cache_op_result{});
    for (auto& r : results) r.error = e;
  } catch (const std::exception& e) {
    results.assign(ops.size(), cache_op_result{});
    for (auto& r : results) r.error = store_error(errc::internal, e.what());
  }
  for (auto& r : results)
    if (!r.error) {
      core.answered();
      break;
    }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    auto& r = results[i];
    metrics.record(op_of(ops[i].kind), r.error ? r.error->code() : errc::ok,
                   starts[i]);
    if (r.error)
      replies[i].deliver(core.failure(*r.error, op_name(ops[i].kind)));
    else
      replies[i].deliver(cache_reply(ops[i], r));
  }
}

}  // namespace storage
