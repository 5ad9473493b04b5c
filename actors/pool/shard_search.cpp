#include "actors/pool/shard_search.hpp"

#include <algorithm>
#include <mutex>

#include "actors/pool/store_dispatcher.hpp"
#include "messages/caf_support.hpp"
#include "messages/distance.hpp"

namespace storage {

hits merge_hits(std::vector<hits>& parts, std::uint32_t k) {
  hits all;
  for (auto& p : parts)
    for (auto& h : p) all.push_back(std::move(h));
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return closer(a.distance, a.id, b.distance, b.id);
  });
  if (all.size() > k) all.resize(k);
  return all;
}

batch_hits merge_batch_hits(std::vector<batch_hits>& parts, std::size_t queries,
                            std::uint32_t k) {
  batch_hits out(queries);
  std::vector<hits> per_query(parts.size());
  for (std::size_t q = 0; q < queries; ++q) {
    for (std::size_t p = 0; p < parts.size(); ++p)
      per_query[p] = q < parts[p].size() ? std::move(parts[p][q]) : hits{};
    out[q] = merge_hits(per_query, k);
  }
  return out;
}

bool is_shard_search(const caf::type_erased_tuple& req) {
  return req.match_elements<vsearch_atom, std::string, search_request>() ||
         req.match_elements<vsearchb_atom, std::string, batch_search_request>();
}

namespace {

// Collects the parts' replies (Reply or caf::error) during their enqueue
// and answers the caller once: with the merge after the last part, or with
// the first error. Parts arrive on any thread, hence the lock.
template <class Reply>
class shard_gather final : public caf::monitorable_actor {
 public:
  using merge_fn = Reply (*)(std::vector<Reply>&, const caf::message& req);

  shard_gather(caf::actor_config& cfg, std::size_t parts, caf::message req,
               merge_fn merge, caf::strong_actor_ptr caller,
               caf::message_id mid, caf::strong_actor_ptr store,
               std::string store_name, std::shared_ptr<store_metrics> metrics,
               deadline_clock::time_point start)
      : caf::monitorable_actor(cfg),
        remaining_(parts),
        req_(std::move(req)),
        merge_(merge),
        caller_(std::move(caller)),
        mid_(mid),
        store_(std::move(store)),
        store_name_(std::move(store_name)),
        metrics_(std::move(metrics)),
        start_(start) {
    parts_.reserve(parts);
  }

  void enqueue(caf::mailbox_element_ptr what,
               caf::execution_unit* eu) override {
    auto& x = what->content();
    caf::error err;
    {
      std::lock_guard<std::mutex> guard(mtx_);
      if (remaining_ == 0) return;  // answered already (an earlier error)
      if (x.match_elements<Reply>()) {
        parts_.push_back(std::move(x.get_mutable_as<Reply>(0)));
        if (--remaining_ > 0) return;
      } else {
        remaining_ = 0;
        err = x.match_elements<caf::error>()
                  ? x.get_as<caf::error>(0)
                  : caf::make_error(caf::sec::unexpected_response);
      }
    }
    // Only this thread gets here, once: remaining_ reached zero under the
    // lock, and no part touches parts_ after that.
    if (err) {
      // A deadline or a dead worker becomes timeout or
      // backend_unavailable; the workers' own errors pass through.
      if (err.category() != error_category)
        err = to_caf_error(from_caf_error(err, "search", store_name_));
      metrics_->record(store_op::search, from_caf_error(err, "", "").code(),
                       start_);
      answer(caf::make_message(std::move(err)), eu);
    } else {
      metrics_->record(store_op::search, errc::ok, start_);
      answer(caf::make_message(merge_(parts_, req_)), eu);
    }
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
  std::vector<Reply> parts_;
  caf::message req_;  // for the merge's k and query count
  merge_fn merge_;
  caf::strong_actor_ptr caller_;
  caf::message_id mid_;
  caf::strong_actor_ptr store_;
  std::string store_name_;
  std::shared_ptr<store_metrics> metrics_;
  deadline_clock::time_point start_;
};

hits merge_one(std::vector<hits>& parts, const caf::message& req) {
  return merge_hits(parts, req.get_as<search_request>(2).k);
}

batch_hits merge_batch(std::vector<batch_hits>& parts,
                       const caf::message& req) {
  auto& r = req.get_as<batch_search_request>(2);
  return merge_batch_hits(parts, r.queries.size(), r.k);
}

// A shard_gather<Reply> in `self`'s actor system; args as its constructor's.
template <class Reply, class... Ts>
caf::strong_actor_ptr spawn_gather(std::size_t parts, const caf::message& req,
                                   typename shard_gather<Reply>::merge_fn merge,
                                   const caf::strong_actor_ptr& caller,
                                   caf::message_id mid,
                                   const caf::strong_actor_ptr& self,
                                   Ts&&... xs) {
  caf::actor_config cfg;
  auto& sys = *self->home_system;
  return caf::actor_cast<caf::strong_actor_ptr>(
      caf::make_actor<shard_gather<Reply>, caf::actor>(
          sys.next_actor_id(), sys.node(), &sys, cfg, parts, req, merge, caller,
          mid, self, std::forward<Ts>(xs)...));
}

}  // namespace

void scatter_search(caf::mailbox_element_ptr what, job_ticket t, const route& r,
                    std::shared_ptr<store_metrics> metrics,
                    caf::execution_unit* eu,
                    const caf::strong_actor_ptr& self) {
  auto n = r.workers.size();
  for (auto& w : r.workers) {
    if (!w) {
      r.gauge->release(pool_gauge::no_worker, 0);
      metrics->record(store_op::search, errc::backend_unavailable, t.start);
      reply_error(*what,
                  to_caf_error(store_error(errc::backend_unavailable,
                                           "a shard's worker is being "
                                           "restarted",
                                           "search", r.store)),
                  self, eu);
      return;
    }
  }
  // The one unit of the bound the dispatcher took; every part shares it.
  auto unit = std::make_shared<load_token>(r.gauge, pool_gauge::no_worker, 0);
  auto caller = what->sender;
  auto mid = what->mid;
  auto req = what->move_content_to_message();
  auto gather =
      req.match_element<vsearch_atom>(0)
          ? spawn_gather<hits>(n, req, merge_one, caller, mid, self, r.store,
                               std::move(metrics), t.start)
          : spawn_gather<batch_hits>(n, req, merge_batch, caller, mid, self,
                                     r.store, std::move(metrics), t.start);
  for (std::uint32_t w = 0; w < n; ++w) {
    r.gauge->assign(w);
    job_ticket part;
    part.deadline = t.deadline;
    part.op = store_op::search;  // start stays zero: counted once, above
    part.caller = t.caller;
    part.token = load_token(unit, w, 0);
    auto e = caf::make_mailbox_element(gather, mid, {}, req);
    if (r.gauge->load(w) == 1 && r.runners[w] &&
        r.runners[w]->run_inline(*e, part, eu, r.workers[w], caller))
      continue;
    r.workers[w]->enqueue(make_job(std::move(e), std::move(part)), eu);
  }
}

}  // namespace storage
