// The blocking entry points: prepare the target, resume from the checkpoint,
// run the supervised pipeline, verify.
#include "actors/migration.hpp"

#include <caf/all.hpp>

#include "actors/checkpoint_file.hpp"
#include "actors/migration_pipeline.hpp"
#include "actors/migration_verifier.hpp"
#include "messages/validation.hpp"

namespace storage {

namespace {

using clock_type = std::chrono::steady_clock;

double since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::optional<checkpoint_file> open_checkpoint(const migration_options& opts) {
  if (opts.checkpoint_file.empty()) return std::nullopt;
  return checkpoint_file::open(opts.checkpoint_file, opts.source_name,
                               opts.target_name);
}

// Copies from where the checkpoint stands, or from the beginning. A
// completed entry copies nothing: the run only verifies.
std::uint64_t copy(caf::actor_system& sys, const pipeline_ends& ends,
                   const migration_options& opts, std::uint64_t total) {
  auto cp = open_checkpoint(opts);
  std::optional<std::string> key;
  if (!ends.cache) key = ends.collection;
  auto entry = cp ? cp->get(key) : std::nullopt;
  if (entry && entry->completed) {
    if (opts.on_progress)
      opts.on_progress(
          {ends.collection, entry->copied, std::max(total, entry->copied), 0});
    return 0;
  }
  // Written before any data: an unwritable checkpoint path fails now.
  if (cp) cp->put(key, entry.value_or(checkpoint_entry{}));
  pipeline_start start;
  if (entry) {
    start.cursor = entry->cursor;
    start.done = entry->copied;
  }
  start.total = total;
  return run_migration_pipeline(sys, ends, opts, start).copied;
}

std::uint64_t count_keys(caf::actor_system& sys, const cache_store_actor& c,
                         const std::string& name, std::uint32_t page) {
  caf::scoped_actor self{sys};
  std::uint64_t n = 0;
  std::string cursor;
  do {
    auto p = blocking_request<cache_scan_page>(self, c, "scan", name,
                                               cscan_atom::value, cursor, page);
    n += p.entries.size();
    cursor = p.next_cursor;
  } while (!cursor.empty());
  return n;
}

}  // namespace

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
  // collection with another dimension or metric.
  blocking_request<bool>(self, target, "create", opts.target_name,
                         vcreate_atom::value, *it);
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
  r.copied = copy(sys, ends, opts, r.source_count);
  if (opts.verify) {
    auto v = verify_collection(sys, source, target, collection,
                               std::max<std::uint32_t>(1, opts.batch),
                               opts.source_name, opts.target_name);
    require_verified(v, "collection '" + collection + "'");
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
  std::uint64_t total =
      opts.on_progress ? count_keys(sys, source, opts.source_name, page) : 0;
  pipeline_ends ends;
  ends.cache = true;
  ends.csource = source;
  ends.ctarget = target;
  ends.source_name = opts.source_name;
  ends.target_name = opts.target_name;
  r.copied = copy(sys, ends, opts, total);
  if (opts.verify) {
    auto v = verify_cache(sys, source, target, page, opts.expiry_tolerance,
                          opts.source_name, opts.target_name);
    require_verified(v, "the cache");
    r.source_count = v.source_count;
    r.target_count = v.target_count;
    r.verified = true;
  } else {
    r.source_count = count_keys(sys, source, opts.source_name, page);
    r.target_count = count_keys(sys, target, opts.target_name, page);
  }
  r.seconds = since(began);
  return r;
}

}  // namespace storage
