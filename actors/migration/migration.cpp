// The blocking entry points: prepare the target, resume from the checkpoint,
// run the supervised pipeline, verify, repair on a rerun, record completion.
#include "actors/migration/migration.hpp"

#include <thread>

#include <caf/all.hpp>

#include "actors/migration/checkpoint_file.hpp"
#include "actors/migration/migration_pipeline.hpp"
#include "actors/migration/migration_repair.hpp"
#include "actors/migration/migration_verifier.hpp"
#include "actors/migration/progress_ticker.hpp"
#include "messages/validation.hpp"

namespace storage {

namespace {

using clock_type = std::chrono::steady_clock;

double since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// This run's view of the checkpoint file: the entry as it was before the
// run, and how to record completion (or take it back) afterwards.
class run_checkpoint {
 public:
  run_checkpoint(const migration_options& opts, const pipeline_ends& ends)
      : opts_(opts) {
    if (!ends.cache) key_ = ends.collection;
    if (opts.checkpoint_file.empty()) return;
    file_ = open();
    before_ = file_->get(key_);
  }

  bool enabled() const { return file_.has_value(); }
  const std::optional<checkpoint_entry>& before() const { return before_; }

  // Written before any data: an unwritable checkpoint path fails now.
  void touch() {
    if (file_) file_->put(key_, before_.value_or(checkpoint_entry{}));
  }

  // The writer saved the copy's progress through its own handle: reread.
  void set_completed(bool completed) {
    if (file_) open().set_completed(key_, completed);
  }

 private:
  checkpoint_file open() const {
    return checkpoint_file::open(opts_.checkpoint_file, opts_.source_name,
                                 opts_.target_name);
  }

  const migration_options& opts_;
  std::optional<std::string> key_;
  std::optional<checkpoint_file> file_;
  std::optional<checkpoint_entry> before_;
};

// Copies from where the checkpoint stands, or from the beginning. An entry
// that copied everything copies nothing: the run only verifies.
pipeline_outcome copy(caf::actor_system& sys, const pipeline_ends& ends,
                      const migration_options& opts, run_checkpoint& cp,
                      std::uint64_t total) {
  auto& entry = cp.before();
  if (entry && entry->copied_all) {
    if (opts.on_progress)
      opts.on_progress(
          {ends.collection, entry->copied, std::max(total, entry->copied), 0});
    return {0, entry->copied};
  }
  cp.touch();
  pipeline_start start;
  if (entry) {
    start.cursor = entry->cursor;
    start.done = entry->copied;
  }
  start.total = total;
  return run_migration_pipeline(sys, ends, opts, start);
}

// A request that may run for long: the store's own deadline (timeout_ms)
// bounds it, this only guards against a store that vanished.
constexpr std::chrono::seconds index_request_timeout{24 * 3600};

// Builds the target's approximate index if it lacks one: deferred by this
// run's create, or left unbuilt by an earlier run that stopped after the
// copy, through opts.index_builder or else the target handle. Costs one
// catalogue query where the index exists. Returns seconds.
// An unreachable target is retried as the pipeline's stages are (up to
// opts.max_attempts restarts, the backoff doubling); the build itself is
// idempotent.
double build_index(caf::scoped_actor& self, const vector_store_actor& target,
                   collection_spec spec, const migration_options& opts) {
  auto began = clock_type::now();
  spec.defer_index = false;
  for (unsigned attempt = 1;; ++attempt) {
    std::optional<store_error> failure;
    if (opts.index_builder) {
      try {
        opts.index_builder(spec.name);
      } catch (const store_error& e) {
        failure = e.with_context("create", opts.target_name);
      }
    } else {
      self->request(target, index_request_timeout, vcreate_atom::value, spec)
          .receive([](bool) {},
                   [&](caf::error& e) {
                     failure = from_caf_error(e, "create", opts.target_name);
                   });
    }
    if (!failure) return since(began);
    auto& e = *failure;
    bool retry = e.code() == errc::backend_unavailable;
    if (retry && attempt <= opts.max_attempts) {
      auto shift = std::min(attempt - 1, 8u);
      std::this_thread::sleep_for(opts.backoff * (1u << shift));
      continue;
    }
    std::string hint =
        e.code() == errc::timeout && !opts.index_builder
            ? " (the build must end within the target's timeout_ms: raise "
              "it; a rerun builds the index)"
            : "";
    std::string tries =
        retry ? " failed after " + std::to_string(attempt) + " attempts" : "";
    throw store_error(e.code(),
                      "building the index of collection '" + spec.name +
                          "' after the copy" + tries + ": " + e.message() +
                          hint,
                      e.operation(), e.store());
  }
}

// Whether this run repairs what verification finds: only a rerun the
// checkpoint knows of (without one, data on the target may be the user's
// own, a merge, and repairing would delete it) and only after a run that
// did not complete. After a completed one a rerun copies nothing and only
// verifies (CLI.md); a difference found then fails, and the run after it
// repairs.
bool repairs(const run_checkpoint& cp) {
  return cp.enabled() && cp.before() && !cp.before()->completed;
}

// Verifies; a rerun repairs what differs and verifies again. Throws
// verification_failed if the last verification still differs, and only then
// leaves the checkpoint not completed. The repair's own comparison is a
// verification: when it found nothing, it is the answer, so a rerun costs
// one comparison when nothing differs and two when something did.
template <class Verify, class Repair>
verify_report verify_and_repair(run_checkpoint& cp, bool rerun,
                                const std::string& what, migration_result& r,
                                Verify verify, Repair repair) {
  verify_report v;
  if (rerun) {
    auto fixed = repair();
    r.copied += fixed.written;
    r.repaired = fixed.written + fixed.removed;
    v = fixed.found.passed() ? std::move(fixed.found) : verify();
  } else {
    v = verify();
  }
  if (!v.passed()) {
    cp.set_completed(false);
    // Only a rerun the checkpoint knows of repairs (see repairs()).
    throw store_error(
        errc::verification_failed,
        describe(v, what) +
            (cp.enabled()
                 ? "; a rerun with the same checkpoint file repairs it"
                 : "; a run with a checkpoint file, then its rerun, repairs "
                   "it (without one, records only the target holds may be "
                   "its own and are left as they are)"),
        "verify");
  }
  cp.set_completed(true);
  return v;
}

std::uint64_t count_keys(caf::actor_system& sys, const cache_store_actor& c,
                         const std::string& name, std::uint32_t page,
                         bool stop_at_first = false) {
  caf::scoped_actor self{sys};
  std::uint64_t n = 0;
  std::string cursor;
  do {
    auto p = blocking_request<cache_scan_page>(self, c, "scan", name,
                                               cscan_atom::value, cursor, page);
    n += p.entries.size();
    cursor = p.next_cursor;
  } while (!cursor.empty() && !(stop_at_first && n > 0));
  return n;
}

}  // namespace

const char* to_string(migration_phase p) {
  switch (p) {
    case migration_phase::count:
      return "count";
    case migration_phase::copy:
      return "copy";
    case migration_phase::index:
      return "index";
    case migration_phase::verify:
      return "verify";
  }
  return "copy";
}

migration_result migrate_collection(caf::actor_system& sys,
                                    const vector_store_actor& source,
                                    const vector_store_actor& target,
                                    const std::string& collection,
                                    const migration_options& opts) {
  auto began = clock_type::now();
  try {
    validate_collection_name(collection);
  } catch (const store_error& e) {
    throw e.with_context("migrate", opts.source_name);
  }
  caf::scoped_actor self{sys};
  auto specs = blocking_request<std::vector<collection_spec>>(
      self, source, "list", opts.source_name, vlist_atom::value);
  auto it = std::find_if(specs.begin(), specs.end(),
                         [&](const auto& s) { return s.name == collection; });
  if (it == specs.end())
    throw store_error(
        errc::collection_not_found,
        "collection '" + collection + "' does not exist on the source",
        "migrate", opts.source_name);
  // conflict here, before anything is written, when the target holds the
  // collection with another dimension or metric. Created now, the
  // collection gets its approximate index after the copy: loading rows into
  // pgvector's HNSW graph one by one is the slow part of a migration.
  auto spec = *it;
  spec.defer_index = true;
  blocking_request<bool>(self, target, "create", opts.target_name,
                         vcreate_atom::value, spec);
  migration_result r;
  r.collection = collection;
  r.source_count = blocking_request<std::uint64_t>(
      self, source, "count", opts.source_name, vcount_atom::value, collection);
  pipeline_ends ends;
  ends.vsource = source;
  ends.vtarget = target;
  ends.collection = collection;
  ends.source_name = opts.source_name;
  ends.target_name = opts.target_name;
  run_checkpoint cp(opts, ends);
  bool rerun = repairs(cp);
  auto copied = copy(sys, ends, opts, cp, r.source_count);
  r.copied = copied.copied;
  migration_progress at{collection, copied.done,
                        std::max(r.source_count, copied.done), 0,
                        migration_phase::index};
  // Before verification: a failed verification (or a rerun's repair of a
  // few records) still leaves a collection with its index.
  if (opts.build_index) {
    progress_ticker ticking(opts.on_progress, at, began);
    r.index_seconds = build_index(self, target, spec, opts);
  }
  if (opts.verify) {
    at.phase = migration_phase::verify;
    progress_ticker ticking(opts.on_progress, at, began);
    auto page = std::max<std::uint32_t>(1, opts.batch);
    auto v = verify_and_repair(
        cp, rerun, "collection '" + collection + "'", r,
        [&] {
          return verify_collection(sys, source, target, collection, page,
                                   opts.source_name, opts.target_name);
        },
        [&] {
          return repair_collection(sys, source, target, collection, opts);
        });
    r.source_count = v.source_count;
    r.target_count = v.target_count;
    r.verified = true;
  } else {
    r.target_count =
        blocking_request<std::uint64_t>(self, target, "count", opts.target_name,
                                        vcount_atom::value, collection);
  }
  r.seconds = since(began);
  return r;
}

migration_result migrate_cache(caf::actor_system& sys,
                               const cache_store_actor& source,
                               const cache_store_actor& target,
                               const migration_options& opts) {
  auto began = clock_type::now();
  auto page = std::max<std::uint32_t>(1, opts.batch);
  migration_result r;
  // Caches have no count: a progress display gets a counting pass first.
  std::uint64_t total = 0;
  if (opts.on_progress) {
    progress_ticker ticking(opts.on_progress,
                            {"", 0, 0, 0, migration_phase::count}, began);
    total = count_keys(sys, source, opts.source_name, page);
  }
  pipeline_ends ends;
  ends.cache = true;
  ends.csource = source;
  ends.ctarget = target;
  ends.source_name = opts.source_name;
  ends.target_name = opts.target_name;
  run_checkpoint cp(opts, ends);
  bool rerun = repairs(cp);
  auto copied = copy(sys, ends, opts, cp, total);
  r.copied = copied.copied;
  if (opts.verify) {
    progress_ticker ticking(opts.on_progress,
                            {"", copied.done, std::max(total, copied.done), 0,
                             migration_phase::verify},
                            began);
    auto v = verify_and_repair(
        cp, rerun, "the cache", r,
        [&] {
          return verify_cache(sys, source, target, page, opts.expiry_tolerance,
                              opts.source_name, opts.target_name);
        },
        [&] { return repair_cache(sys, source, target, opts); });
    r.source_count = v.source_count;
    r.target_count = v.target_count;
    r.verified = true;
  } else {
    // A cache has no count: the source's is what the copy found live, the
    // target's a scan of it (migration.hpp), since the target may hold keys
    // of its own.
    progress_ticker ticking(opts.on_progress,
                            {"", copied.done, std::max(total, copied.done), 0,
                             migration_phase::count},
                            began);
    r.source_count = copied.done;
    r.target_count = count_keys(sys, target, opts.target_name, page);
  }
  r.seconds = since(began);
  return r;
}

}  // namespace storage
