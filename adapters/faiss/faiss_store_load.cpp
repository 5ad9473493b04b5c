// faiss_store's loader: brings a collection into memory from its snapshot
// and the writes after it (or from SQLite alone), on a thread of its own and
// in short steps, so that a load of minutes neither holds the store nor ties
// itself to one request's deadline.
//
// No write reaches a collection while it loads (writes wait for it in
// loaded()), so the rows read step by step are one consistent state, and
// the loader may work on its state without the store's lock. A rebuild
// reads rows in id order (the table's own, the fastest), a replay after a
// snapshot in (seq, id) order; either way everything before the cursor is
// in, which is what lets a load stop at any step and a snapshot of it be
// resumed (collection_state::partial).
#include "adapters/storage_log.hpp"

#include <algorithm>

#include "adapters/faiss/faiss_store.hpp"
#include "adapters/faiss/faiss_store_db.hpp"
#include "adapters/faiss/faiss_store_index.hpp"
#include "adapters/faiss/faiss_store_load.hpp"
#include "adapters/faiss/faiss_store_snapshot.hpp"
#include "messages/errors.hpp"

namespace storage {

using faiss_detail::clock_type;
using faiss_detail::collection_state;
using faiss_detail::next_chunk;
using faiss_detail::unlocked;
using faiss_detail::what_of;

namespace {
// How often a long load saves what it reached (a SIGKILL then loses less).
constexpr auto partial_every = std::chrono::seconds(30);
// How long after a failed load or graph rebuild it may run again: doubling
// from first_backoff with each failure in a row.
constexpr auto first_backoff = std::chrono::seconds(1);
constexpr auto max_backoff = std::chrono::seconds(60);

// `failure` again, saying when the load it ended is tried next.
[[noreturn]] void rethrow_backing_off(const std::exception_ptr& failure,
                                      clock_type::time_point retry_at) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                retry_at - clock_type::now())
                .count();
  auto when = "; the load is tried again in " +
              std::to_string(std::max<long long>(ms, 0)) + " ms";
  try {
    std::rethrow_exception(failure);
  } catch (const store_error& e) {
    throw store_error(e.code(), e.message() + when, e.operation(), e.store());
  } catch (...) {
    throw store_error(errc::internal, what_of(failure) + when);
  }
}
}  // namespace

void faiss_store::forget_states() {
  states_.clear();
  loading_.clear();
  rebuilding_.clear();
  load_finished_.notify_all();
}

faiss_store::loaded_collection& faiss_store::loaded(const std::string& name) {
  auto& entry = entry_of(name);
  if (auto it = states_.find(name); it != states_.end()) return it->second;
  if (!loading_.count(name))
    if (auto* f = backing_off(failed_loads_, name))
      rethrow_backing_off(f->error, f->retry_at);
  auto& slot = loading_[name];
  if (!slot) {
    slot = std::make_shared<load_job>();
    slot->incarnation = entry.incarnation;
    slot->spec = entry.spec;
    slot->chunk = opts_->hnsw ? 256 : 4096;
    if (!loader_.joinable()) loader_ = std::thread([this] { loader_loop(); });
    load_wanted_.notify_one();
  }
  auto job = slot;
  // The caller's own timer fires at the deadline too: give up a little
  // before it, so the answer that says how far the load got arrives first.
  auto give_up = deadline_;
  if (deadline_ != clock_type::time_point::max()) {
    auto left =
        std::max(deadline_ - clock_type::now(), clock_type::duration::zero());
    give_up -= std::min<clock_type::duration>(std::chrono::milliseconds(50),
                                              left / 10);
  }
  bool late = false;
  for (;;) {
    if (job->failed) std::rethrow_exception(job->failed);
    if (auto it = states_.find(name); it != states_.end()) {
      // Queued only now, by the first request that finds it ready, so that
      // request runs before the snapshot copy takes the lock.
      wrote(name, 0);
      return it->second;
    }
    auto now = loading_.find(name);
    if (now == loading_.end() || now->second != job)
      return loaded(name);  // dropped or reopened meanwhile: start again
    if (late) {
      auto progress = std::to_string(job->size) + " of " +
                      std::to_string(job->total) + " records so far";
      throw store_error(
          errc::timeout,
          "collection '" + name + "' is still loading into memory (" +
              (!job->state ? std::string("reading its snapshot")
               : job->by_id
                   ? "rebuilding its index from SQLite: " + progress
                   : "replaying the writes after its snapshot: " + progress) +
              "); the load goes on in the background and what it reached "
              "is kept when the store closes: retry, or raise timeout_ms");
    }
    // The caller holds mu_ through guarded()'s lock; the wait releases it.
    if (deadline_ == clock_type::time_point::max())
      load_finished_.wait(mu_);
    else
      late =
          load_finished_.wait_until(mu_, give_up) == std::cv_status::timeout &&
          clock_type::now() >= give_up;
  }
}

void faiss_store::loader_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  std::string last;
  for (;;) {
    load_wanted_.wait(lock, [this] {
      return stopping_ || !loading_.empty() || !rebuilding_.empty();
    });
    if (stopping_) return;
    // Loads first: requests wait for them; a graph rebuild has an old graph
    // serving meanwhile.
    if (loading_.empty()) {
      auto it = rebuilding_.begin();
      auto name = it->first;
      auto job = it->second;
      try {
        advance_graph_rebuild(name, *job, lock);
      } catch (...) {
        job->failed = std::current_exception();
        storage_log()->warn(
            "faiss store {}: rebuilding the graph of '{}' failed: {}", uri_,
            name, what_of(job->failed));
        // A later write tries again, once the backoff has passed.
        drop_failed(rebuilding_, name, job, failed_rebuilds_);
      }
      continue;
    }
    // Round robin over the loading collections, by name.
    auto it = loading_.upper_bound(last);
    if (it == loading_.end()) it = loading_.begin();
    last = it->first;
    auto job = it->second;
    try {
      if (advance(last, *job, lock) == step::done) finish_load(last, *job);
    } catch (...) {
      job->failed = std::current_exception();
      storage_log()->warn("faiss store {}: loading collection '{}' failed: {}",
                          uri_, last, what_of(job->failed));
      // A later request tries again, once the backoff has passed.
      drop_failed(loading_, last, job, failed_loads_);
      load_finished_.notify_all();
    }
  }
}

void faiss_store::drop_failed(
    std::map<std::string, std::shared_ptr<load_job>>& jobs,
    const std::string& name, const std::shared_ptr<load_job>& job,
    std::map<std::string, failed_work>& failures) {
  auto& f = failures[name];
  f.backoff = f.incarnation == job->incarnation && f.error
                  ? std::min<clock_type::duration>(2 * f.backoff, max_backoff)
                  : clock_type::duration(first_backoff);
  f.incarnation = job->incarnation;
  f.error = job->failed;
  f.retry_at = clock_type::now() + f.backoff;
  if (db_ && db_->broken()) {
    db_.reset();  // the next call reopens it
    forget_states();
  } else if (auto it = jobs.find(name); it != jobs.end() && it->second == job) {
    jobs.erase(it);
  }
}

const faiss_store::failed_work* faiss_store::backing_off(
    std::map<std::string, failed_work>& failures, const std::string& name) {
  auto it = failures.find(name);
  if (it == failures.end()) return nullptr;
  auto cat = catalogue_.find(name);
  if (cat == catalogue_.end() ||
      cat->second.incarnation != it->second.incarnation) {
    failures.erase(it);  // dropped, or dropped and created again
    return nullptr;
  }
  return clock_type::now() < it->second.retry_at ? &it->second : nullptr;
}

faiss_store::step faiss_store::advance(const std::string& name, load_job& job,
                                       std::unique_lock<std::mutex>& lock) {
  auto current = [&] {
    auto it = loading_.find(name);
    return db_ && it != loading_.end() && it->second.get() == &job;
  };
  if (!job.state) {
    // A snapshot of a million records takes seconds to read: unlocked.
    std::unique_ptr<collection_state> state;
    std::string why, path;
    if (snapshots_) {
      path = faiss_detail::snapshot_path(dir_, job.incarnation);
      unlocked free(lock, turn_);
      state = faiss_detail::read_snapshot(path, job.spec, *opts_,
                                          job.incarnation, why);
    }
    if (!current()) return step::gone;
    auto last = db_->last_seq(name);
    // After a power loss SQLite (sync=normal) may have lost commits the
    // snapshot had seen: SQLite wins.
    if (state && state->seq() > last) {
      why = "newer than the database (write " + std::to_string(state->seq()) +
            " > " + std::to_string(last) + ")";
      state.reset();
    }
    // A snapshot from before the last trim of the removal log (put back from
    // a backup, say) cannot learn what was removed since: it would keep it.
    if (auto forgotten = db_->forgotten(name);
        state && state->seq() < forgotten) {
      why = "older than the removal log (write " +
            std::to_string(state->seq()) + ", removals up to write " +
            std::to_string(forgotten) + " are no longer logged)";
      state.reset();
    }
    // Nothing writes a collection before its load is done, in any process;
    // a partial rebuild that is not as of the last write is foreign.
    if (state && state->partial() == collection_state::partial_kind::by_id &&
        state->seq() != last) {
      why = "a partial rebuild as of write " + std::to_string(state->seq()) +
            ", the database is at " + std::to_string(last);
      state.reset();
    }
    if (!why.empty())
      storage_log()->warn(
          "faiss store {}: snapshot {} of collection '{}' is unusable ({}); "
          "rebuilding the index from SQLite",
          uri_, path, name, why);
    job.total = db_->count(name);
    job.how.from_snapshot = state != nullptr;
    job.partial_on_disk =
        state && state->partial() != collection_state::partial_kind::none;
    using kind = collection_state::partial_kind;
    if (state && state->partial() == kind::by_id) {
      job.by_id = true;
      job.cursor = {last, state->partial_id()};
    } else if (state) {
      auto removed = db_->removed_since(name, state->seq());
      for (auto& id : removed) state->erase(id);
      job.how.replayed = removed.size();
      job.unsaved = removed.size();
      // Every row after the snapshot's position: (seq, id) > (seq + 1, "")
      // for a complete snapshot.
      job.cursor = {state->seq() + 1, state->partial() == kind::after_seq
                                          ? state->partial_id()
                                          : std::string()};
    } else {
      state = std::make_unique<collection_state>(job.spec, *opts_);
      state->reserve(job.total);
      job.by_id = true;
      job.cursor = {last, {}};
    }
    job.size = state->size();
    job.state = std::move(state);
    return step::more;
  }
  auto start = clock_type::now();
  auto rows = job.by_id ? db_->load_by_id(name, job.cursor.id, job.chunk)
                        : db_->load_since(name, job.cursor, job.chunk);
  faiss_detail::check_stored(rows, job.spec.dimension);
  // Nothing writes this collection while it loads: fewer rows than asked
  // for means the load has all of them.
  bool last_rows = static_cast<std::int64_t>(rows.size()) < job.chunk;
  if (!rows.empty()) {
    clock_type::duration worked{};
    {
      unlocked free(lock, turn_);
      job.state->put(rows);
      // The step's own work, not the wait to take the lock back: a busy
      // caller would shrink every step to the minimum.
      worked = clock_type::now() - start;
    }
    if (!current()) return step::gone;
    job.size = job.state->size();
    job.how.replayed += rows.size();
    job.unsaved += rows.size();
    if (!last_rows) job.chunk = next_chunk(job.chunk, worked);
  }
  if (last_rows) return step::done;
  if (clock_type::now() - job.saved_at >= partial_every)
    save_partial(name, job, lock);
  return current() ? step::more : step::gone;
}

void faiss_store::finish_load(const std::string& name, load_job& job) {
  job.state->set_seq(db_->last_seq(name));
  job.how.seconds =
      std::chrono::duration<double>(clock_type::now() - job.began).count();
  if (job.how.seconds >= 1)
    storage_log()->info(
        "faiss store {}: collection '{}' loaded in {:.1f} s ({}, {} records "
        "read)",
        uri_, name, job.how.seconds,
        job.by_id ? "rebuilt from SQLite" : "from its snapshot",
        job.how.replayed);
  loaded_collection ready;
  ready.state = std::move(job.state);
  ready.how = job.how;
  ready.unsaved = job.unsaved;
  ready.partial_on_disk = job.partial_on_disk;
  states_[name] = std::move(ready);
  loading_.erase(name);
  failed_loads_.erase(name);
  load_finished_.notify_all();
}

void faiss_store::save_partial(const std::string& name, load_job& job,
                               std::unique_lock<std::mutex>& lock) {
  if (!snapshots_ || !job.state || job.unsaved == 0) return;
  using kind = collection_state::partial_kind;
  if (job.by_id)
    job.state->set_seq(job.cursor.seq, kind::by_id, job.cursor.id);
  else  // cursor.seq is at least the snapshot's seq + 1
    job.state->set_seq(job.cursor.seq - 1, kind::after_seq, job.cursor.id);
  auto path = faiss_detail::snapshot_path(dir_, job.incarnation);
  try {
    // Nothing else touches a loading collection's state: unlocked.
    unlocked free(lock, turn_);
    faiss_detail::write_snapshot(path, *job.state, job.spec, *opts_,
                                 job.incarnation)
        ->commit();
  } catch (const std::exception& e) {
    storage_log()->warn(
        "faiss store {}: saving the partial load of '{}' failed: {}", uri_,
        name, e.what());
    return;
  }
  job.unsaved = 0;
  job.partial_on_disk = true;
  job.saved_at = clock_type::now();
  storage_log()->info(
      "faiss store {}: saved the load of collection '{}' so far ({} of {} "
      "records); the next open goes on from there",
      uri_, name, job.size, job.total);
}

void faiss_store::stop_loading() {
  load_wanted_.notify_all();  // stopping_ is set
  if (loader_.joinable()) loader_.join();
  std::unique_lock<std::mutex> lock(mu_);
  // Copied: save_partial releases the lock.
  auto jobs = loading_;
  for (auto& [name, job] : jobs) save_partial(name, *job, lock);
  loading_.clear();
  rebuilding_.clear();  // the old graphs are complete: they are saved
}

}  // namespace storage
