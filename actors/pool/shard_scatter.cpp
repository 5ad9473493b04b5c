#include "actors/pool/shard_scatter.hpp"

#include <mutex>

#include "actors/pool/shard_plan.hpp"
#include "actors/pool/store_dispatcher.hpp"
#include "messages/caf_support.hpp"

namespace storage {

namespace {

// Collects the parts' replies during their enqueue and answers the caller
// once: with the merge after the last part, or with the first error. A
// part's request id is its index plus one, so its reply lands in its
// place. Parts arrive on any thread, hence the lock.
class shard_gather final : public caf::monitorable_actor {
 public:
  shard_gather(caf::actor_config& cfg, std::size_t parts,
               std::function<caf::message(std::vector<caf::message>&)> merge,
               store_op op, caf::strong_actor_ptr caller, caf::message_id mid,
               caf::strong_actor_ptr store, std::string store_name,
               std::shared_ptr<store_metrics> metrics,
               deadline_clock::time_point start)
      : caf::monitorable_actor(cfg),
        remaining_(parts),
        replies_(parts),
        merge_(std::move(merge)),
        op_(op),
        caller_(std::move(caller)),
        mid_(mid),
        store_(std::move(store)),
        store_name_(std::move(store_name)),
        metrics_(std::move(metrics)),
        start_(start) {}

  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* eu) override {
    auto part =
        (what->mid.integer_value() & caf::message_id::request_id_mask) - 1;
    auto& x = what->content();
    caf::error err;
    {
      std::lock_guard<std::mutex> guard(mtx_);
      if (remaining_ == 0 || part >= replies_.size())
        return;  // answered already (an earlier error)
      if (x.match_elements<caf::error>()) {
        remaining_ = 0;
        err = x.get_as<caf::error>(0);
      } else {
        replies_[part] = what->move_content_to_message();
        if (--remaining_ > 0) return;
      }
    }
    // Only this thread gets here, once: remaining_ reached zero under the
    // lock, and no part touches replies_ after that.
    if (!err) {
      try {
        auto reply = merge_(replies_);
        metrics_->record(op_, errc::ok, start_);
        answer(std::move(reply), eu);
        return;
      } catch (const store_error& e) {
        err = to_caf_error(e.with_context(to_string(op_), store_name_));
      }
    }
    // A deadline or a dead worker becomes timeout or backend_unavailable;
    // the workers' own errors pass through.
    if (err.category() != error_category)
      err = to_caf_error(from_caf_error(err, to_string(op_), store_name_));
    metrics_->record(op_, from_caf_error(err, "", "").code(), start_);
    answer(caf::make_message(std::move(err)), eu);
  }

  const char* name() const override { return "shard_gather"; }

 private:
  void answer(caf::message reply, caf::execution_unit* eu) {
    if (caller_ && mid_.is_request())
      caller_->enqueue(caf::make_mailbox_element(store_, mid_.response_id(), {},
                                                 std::move(reply)),
                       eu);
  }

  std::mutex mtx_;
  std::size_t remaining_;
  std::vector<caf::message> replies_;
  std::function<caf::message(std::vector<caf::message>&)> merge_;
  store_op op_;
  caf::strong_actor_ptr caller_;
  caf::message_id mid_;
  caf::strong_actor_ptr store_;
  std::string store_name_;
  std::shared_ptr<store_metrics> metrics_;
  deadline_clock::time_point start_;
};

void refuse(caf::mailbox_element& what, const store_error& e,
            const job_ticket& t, const route& r, store_metrics& metrics,
            caf::execution_unit* eu, const caf::strong_actor_ptr& self) {
  r.gauge->release(pool_gauge::no_worker, 0);
  metrics.record(t.op, e.code(), t.start);
  reply_error(what, to_caf_error(e.with_context(to_string(t.op), r.store)),
              self, eu);
}

}  // namespace

bool scatter_to_shards(caf::mailbox_element& what, const job_ticket& t,
                       const route& r, std::shared_ptr<store_metrics> metrics,
                       caf::execution_unit* eu,
                       const caf::strong_actor_ptr& self) {
  auto n = static_cast<std::uint32_t>(r.workers.size());
  auto op = t.op;
  shard_plan plan;
  try {
    auto planned = plan_for_shards(what, n);
    if (!planned) return false;
    plan = std::move(*planned);
    for (auto& p : plan.parts)
      if (!r.workers[p.shard])
        throw store_error(errc::backend_unavailable,
                          "a shard's worker is being restarted");
  } catch (const store_error& e) {
    refuse(what, e, t, r, *metrics, eu, self);
    return true;
  }
  auto caller = what.sender;
  auto mid = what.mid;
  if (plan.parts.empty()) {  // nothing to ask: an empty batch
    r.gauge->release(pool_gauge::no_worker, 0);
    std::vector<caf::message> none;
    metrics->record(op, errc::ok, t.start);
    if (caller && mid.is_request())
      caller->enqueue(caf::make_mailbox_element(self, mid.response_id(), {},
                                                plan.merge(none)),
                      eu);
    return true;
  }
  // The one unit of the bound the dispatcher took; every part shares it.
  auto unit = std::make_shared<load_token>(r.gauge, pool_gauge::no_worker, 0);
  auto& parts = plan.parts;
  caf::actor_config cfg;
  auto& sys = *self->home_system;
  auto gather = caf::actor_cast<caf::strong_actor_ptr>(
      caf::make_actor<shard_gather, caf::actor>(
          sys.next_actor_id(), sys.node(), &sys, cfg, parts.size(),
          std::move(plan.merge), op, caller, mid, self, r.store,
          std::move(metrics), t.start));
  // The parts of a search or an upsert all go to the workers: they run
  // side by side on both cores instead of one after another on the
  // caller's thread, and an upsert's part joins the upserts queued at its
  // shard (upsert_group). A count's or a keyed read's parts are too small
  // to gain; the caller runs an idle shard's itself (BENCHMARKS.md,
  // "Parts on the workers").
  bool heavy = op == store_op::upsert || op == store_op::search;
  bool run_here = !(heavy && parts.size() > 1);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto w = parts[i].shard;
    r.gauge->assign(w);
    job_ticket part;
    part.deadline = t.deadline;
    part.op = op;  // start stays zero: counted once, by the gather
    part.caller = t.caller;
    part.part = true;
    part.token = load_token(unit, w, 0);
    auto e = caf::make_mailbox_element(gather, caf::make_message_id(i + 1), {},
                                       std::move(parts[i].request));
    if (run_here && r.gauge->load(w) == 1 && r.runners[w] &&
        r.runners[w]->run_inline(*e, part, eu, r.workers[w], caller))
      continue;
    r.workers[w]->enqueue(make_job(std::move(e), std::move(part)), eu);
  }
  return true;
}

}  // namespace storage
