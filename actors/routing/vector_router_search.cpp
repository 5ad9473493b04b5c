// The vector router's searches: sent to the readers (one worker of a shared
// backend, every shard of an in-process one) and merged per query into the
// k closest, ties by id -- the same merge for one query and for a batch.
#include "actors/pool/search_bound.hpp"
#include "actors/routing/vector_router_state.hpp"
#include "messages/validation.hpp"

namespace storage::vector_detail {

void search(self_ptr self, caf::typed_response_promise<hits> rp,
            const std::string& c, const search_request& req) {
  if (rejected(self, rp, "search", [&] {
        validate_collection_name(c);
        validate_search(req);
      }))
    return;
  auto k = req.k;
  // The parts share a bound (search_bound.hpp). A lone reader (one worker
  // of a server backend) finds it empty and searches as asked: one round
  // trip, documents included.
  auto bound = std::make_shared<search_bound>(k);
  fan_out<hits>(
      self, rp, readers(*self->state.pool), "search",
      [=](const worker& w, std::size_t, job_ticket t) {
        return ask_worker(self, w, std::move(t), vsearch_atom::value, c, req,
                          bound);
      },
      [k](std::vector<hits>& parts) { return merge_hits(parts, k); });
}

// Every reader answers the whole batch, one list per query.
void search_batch(self_ptr self, caf::typed_response_promise<batch_hits> rp,
                  const std::string& c, const batch_search_request& req) {
  if (rejected(self, rp, "search", [&] {
        validate_collection_name(c);
        validate_batch_search(req);
      }))
    return;
  auto k = req.k;
  auto n = req.queries.size();
  fan_out<batch_hits>(
      self, rp, readers(*self->state.pool), "search",
      [=](const worker& w, std::size_t, job_ticket t) {
        return ask_worker(self, w, std::move(t), vsearchb_atom::value, c, req);
      },
      [k, n](std::vector<batch_hits>& parts) {
        return merge_batch_hits(parts, n, k);
      });
}

}  // namespace storage::vector_detail
