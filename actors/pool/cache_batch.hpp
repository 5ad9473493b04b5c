// The requests a cache worker collects while more wait in its mailbox: run
// together by one cache_backend::execute (one round trip on Redis; a few
// when their deadlines lie far apart, see run()), each answered through its
// own response promise. The worker decides when to run the batch (see
// store_worker.cpp); this class keeps the requests in arrival order and
// turns each result into the reply its caller expects.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/response_promise.hpp>

#include "actors/pool/job.hpp"
#include "actors/pool/worker_core.hpp"
#include "adapters/cache_backend.hpp"
#include "messages/caf_support.hpp"

namespace storage {

class cache_batch {
 public:
  // More would delay the first caller of a batch for little gain: at depth
  // 64 one connection is already near its pipelined peak.
  static constexpr std::size_t max_size = 256;

  cache_batch() = default;
  cache_batch(const cache_batch&) = delete;
  cache_batch& operator=(const cache_batch&) = delete;
  // A worker that stops with requests still queued (killed, say) answers
  // them with backend_unavailable rather than leaving callers to time out.
  ~cache_batch();

  bool empty() const { return ops_.empty(); }
  std::size_t size() const { return ops_.size(); }

  // Queues `op`; `rp` gets its reply (cache_reply), or the op's error, once
  // the batch runs. `rp` must be the request's one promise (CAF 0.17 moves
  // the sender into the first promise made). The ticket's share of the pool
  // is held until the batch has run; an op whose deadline passed by then is
  // answered timeout and not sent.
  void add(cache_op op, caf::response_promise rp, job_ticket t) {
    ops_.push_back(std::move(op));
    tickets_.push_back(std::move(t));
    replies_.push_back(std::move(rp));
  }

  // Runs every queued op in one execute() on the core's adapter (the
  // caller holds the core's lock; when the ops' deadlines lie more than
  // 50 ms apart, in successive ones, each of ops in arrival order whose
  // deadlines lie within 50 ms, ending by the earliest of them),
  // answers each caller and empties the batch. Errors name their op and the
  // store. After a connection-level error (backend_unavailable) the adapter is
  // dropped, as for a single request, so the next request reconnects.
  void run(worker_core<cache_backend>& core);

 private:
  // Runs ops [begin, end) of a batch taken out of this one.
  void run_part(worker_core<cache_backend>& core, std::vector<cache_op>& ops,
                std::vector<caf::response_promise>& replies,
                std::vector<job_ticket>& tickets, std::size_t begin,
                std::size_t end);

  std::vector<cache_op> ops_;
  std::vector<job_ticket> tickets_;
  std::vector<caf::response_promise> replies_;
};

}  // namespace storage
