// Upserts an in-process shard's worker (faiss://) collects while more wait
// in its mailbox: consecutive upserts to one collection with no id in
// common run as one adapter upsert -- one SQLite transaction and one index
// update instead of one of each per request (group commit). With many
// callers each batch is split across every shard, so without this a shard
// committed a transaction for every caller's few records (BENCHMARKS.md,
// "Keyed batches without the router").
//
// Each request keeps its own answer: after the group's upsert each gets
// its record count; if the group fails for any reason but a lost
// connection, each is run again on its own, so a bad request (a wrong
// dimension) fails alone and the others are written. Upserts are
// idempotent, so running a request again after a failed group changes
// nothing it should not. The worker decides when to run the group (see
// store_worker.cpp); order holds because a group only ever holds the
// upserts that arrived back to back, and anything else runs the group
// first.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_set>
#include <vector>

#include <caf/response_promise.hpp>

#include "actors/pool/job.hpp"
#include "actors/pool/worker_core.hpp"
#include "adapters/vector_backend.hpp"

namespace storage {

class upsert_group {
 public:
  // A bigger group delays its first caller for little gain.
  static constexpr std::size_t max_records = 2000;

  upsert_group() = default;
  upsert_group(const upsert_group&) = delete;
  upsert_group& operator=(const upsert_group&) = delete;
  // A worker that stops with upserts still held answers them with
  // backend_unavailable rather than leaving callers to time out.
  ~upsert_group();

  bool empty() const { return members_.empty(); }
  std::size_t records() const { return records_; }

  // Whether an upsert of `rs` to `collection` may join: the same
  // collection, no id already in the group, and room left.
  bool fits(const std::string& collection,
            const std::vector<vector_record>& rs) const;

  // Holds an upsert (checked against the contract already); `rp` gets its
  // reply once the group runs. `rp` must be the request's one promise. The
  // ticket's share of the pool is held until then; an upsert whose
  // deadline passed by then is answered timeout and not written.
  void add(std::string collection, std::vector<vector_record> rs,
           caf::response_promise rp, job_ticket t);

  // Runs the group on the core's adapter (the caller holds the core's
  // lock), answers each request and empties the group.
  void run(worker_core<vector_backend>& core);

 private:
  struct member {
    std::vector<vector_record> records;
    caf::response_promise reply;
    job_ticket ticket;
  };

  std::string collection_;
  std::vector<member> members_;
  std::unordered_set<std::string> ids_;
  std::size_t records_ = 0;
};

}  // namespace storage
