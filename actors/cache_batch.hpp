// The requests a cache worker collects while more wait in its mailbox: run
// together by one cache_backend::execute (one round trip on Redis), each
// answered through its own response promise. The worker decides when to
// run the batch (see store_worker.cpp); this class keeps the requests in
// arrival order and turns each result into the reply its caller expects.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/typed_response_promise.hpp>

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

  // The store errors name (redacted URI).
  void set_store(std::string store) { store_ = std::move(store); }
  bool empty() const { return ops_.empty(); }
  std::size_t size() const { return ops_.size(); }

  // Queues `op`; `rp` gets convert(result), or the op's error, once the
  // batch runs. `rp` must be the request's one promise (CAF 0.17 moves the
  // sender into the first promise made).
  template <class T, class Convert>
  void add(cache_op op, caf::typed_response_promise<T> rp, Convert convert) {
    ops_.push_back(std::move(op));
    replies_.push_back([rp, convert](cache_op_result& r) mutable {
      if (r.error)
        rp.deliver(to_caf_error(*r.error));
      else
        rp.deliver(convert(r));
    });
  }

  // Runs every queued op in one execute() on `backend` (made by `make` if
  // null), answers each caller and empties the batch. Errors name their op
  // and the store. After an error that is not the caller's fault
  // (backend_unavailable, internal) the adapter is dropped, as the worker
  // does for a single request, so the next request reconnects.
  void run(std::unique_ptr<cache_backend>& backend,
           const std::function<std::unique_ptr<cache_backend>()>& make);

 private:
  // Answers every queued op with `e` and empties the batch.
  void fail_all(const store_error& e);

  std::string store_;
  std::vector<cache_op> ops_;
  std::vector<std::function<void(cache_op_result&)>> replies_;
};

}  // namespace storage
