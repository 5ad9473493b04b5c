#include "actors/cache_batch.hpp"

#include <caf/all.hpp>

namespace storage {

cache_batch::~cache_batch() {
  if (!empty())
    fail_all(store_error(errc::backend_unavailable,
                         "the worker stopped before the request ran"));
}

void cache_batch::fail_all(const store_error& e) {
  auto ops = std::move(ops_);
  auto replies = std::move(replies_);
  ops_.clear();
  replies_.clear();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    cache_op_result r;
    r.error = e.with_context(op_name(ops[i].kind), store_);
    replies[i](r);
  }
}

void cache_batch::run(
    std::unique_ptr<cache_backend>& backend,
    const std::function<std::unique_ptr<cache_backend>()>& make) {
  if (empty()) return;
  // Taken out first: a reply is a plain send and cannot re-enter the
  // worker, but the batch must be empty again whatever happens below.
  auto ops = std::move(ops_);
  auto replies = std::move(replies_);
  ops_.clear();
  replies_.clear();
  std::vector<cache_op_result> results;
  bool keep = true;
  try {
    if (!backend) backend = make();
    results = backend->execute(ops);
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
  for (std::size_t i = 0; i < ops.size(); ++i) {
    auto& r = results[i];
    if (r.error) {
      auto code = r.error->code();
      if (code == errc::backend_unavailable || code == errc::internal)
        keep = false;
      r.error = r.error->with_context(op_name(ops[i].kind), store_);
    }
    replies[i](r);
  }
  if (!keep) backend.reset();
}

}  // namespace storage
