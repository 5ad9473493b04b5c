// faiss_store's hnsw graph rebuilds. HNSW cannot remove a record, so
// updates and removals leave dead slots that searches skip; once half of a
// graph's slots are dead, the loader builds a new graph from SQLite while
// the old one goes on serving, applies the writes made meanwhile, and swaps
// it in. Before, the write that crossed the half rebuilt the graph itself,
// holding the store for as long as that took (minutes at a million).
#include "adapters/storage_log.hpp"

#include "adapters/faiss/faiss_store.hpp"
#include "adapters/faiss/faiss_store_db.hpp"
#include "adapters/faiss/faiss_store_index.hpp"
#include "adapters/faiss/faiss_store_load.hpp"

namespace storage {

using faiss_detail::clock_type;
using faiss_detail::collection_state;
using faiss_detail::next_chunk;
using faiss_detail::unlocked;

void faiss_store::start_graph_rebuild(const std::string& name) {
  auto it = states_.find(name);
  auto cat = catalogue_.find(name);
  if (it == states_.end() || cat == catalogue_.end() || rebuilding_.count(name))
    return;
  if (backing_off(failed_rebuilds_, name)) return;  // a later write, then
  auto job = std::make_shared<load_job>();
  job->incarnation = cat->second.incarnation;
  job->spec = cat->second.spec;
  job->chunk = 256;
  job->replaces = it->second.state.get();
  rebuilding_[name] = job;
  if (!loader_.joinable()) loader_ = std::thread([this] { loader_loop(); });
  load_wanted_.notify_one();
}

void faiss_store::touched(const std::string& name,
                          const std::vector<std::string>& ids) {
  if (auto it = rebuilding_.find(name); it != rebuilding_.end())
    it->second->touched.insert(ids.begin(), ids.end());
}

void faiss_store::advance_graph_rebuild(const std::string& name, load_job& job,
                                        std::unique_lock<std::mutex>& lock) {
  // The collection was dropped, reloaded or the database reopened: the
  // graph it was for is gone, and so is the job.
  auto current = [&] {
    auto it = rebuilding_.find(name);
    if (it == rebuilding_.end() || it->second.get() != &job) return false;
    auto st = states_.find(name);
    if (db_ && st != states_.end() && st->second.state.get() == job.replaces)
      return true;
    rebuilding_.erase(it);
    return false;
  };
  if (!current()) return;
  if (!job.state) {
    job.state = std::make_unique<collection_state>(job.spec, *opts_);
    job.state->reserve(db_->count(name));
    return;
  }
  std::vector<vector_record> rows;
  std::vector<std::string> removed;
  bool last = false;
  if (!job.scanned) {
    // Rows read now are current; those written after are in `touched`.
    rows = db_->load_by_id(name, job.cursor.id, job.chunk);
    job.scanned = static_cast<std::int64_t>(rows.size()) < job.chunk;
  } else {
    // The writes made while the graph was built: off the lock while many,
    // then the last few under it, and the new graph replaces the old.
    last = job.touched.size() <= 64 || ++job.catch_ups > 8;
    for (auto& id : job.touched)
      if (auto r = db_->get(name, id))
        rows.push_back(std::move(*r));
      else
        removed.push_back(id);
    job.touched.clear();
  }
  faiss_detail::check_stored(rows, job.spec.dimension);
  auto apply = [&] {
    job.state->put(rows);
    for (auto& id : removed) job.state->erase(id);
  };
  if (!last) {
    clock_type::duration worked{};
    {
      unlocked free(lock, turn_);
      auto start = clock_type::now();
      apply();
      // Not the wait to take the lock back: behind steady writes that
      // shrank every step to 16 rows, and a rebuild of 100k records under
      // writes did not finish in ten minutes.
      worked = clock_type::now() - start;
    }
    if (!current()) return;
    if (!job.scanned) job.chunk = next_chunk(job.chunk, worked);
    return;
  }
  apply();
  job.state->set_seq(db_->last_seq(name));
  auto& c = states_[name];
  c.state = std::move(job.state);
  ++c.how.graph_rebuilds;
  rebuilding_.erase(name);
  failed_rebuilds_.erase(name);
  storage_log()->info(
      "faiss store {}: rebuilt the graph of collection '{}' without its "
      "dead slots in {:.1f} s ({} records)",
      uri_, name,
      std::chrono::duration<double>(clock_type::now() - job.began).count(),
      c.state->size());
}

}  // namespace storage
