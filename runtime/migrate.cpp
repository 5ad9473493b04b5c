#include "runtime/migrate.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "actors/migration/checkpoint_file.hpp"
#include "messages/errors.hpp"
#include "messages/store_uri.hpp"
#include "messages/validation.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/caf_thread_guard.hpp"
#include "runtime/store_identity.hpp"

namespace storage {

std::optional<store_kind> kind_of_uri(const std::string& uri) {
  try {
    return kind_of(uri);
  } catch (const store_error&) {
    return std::nullopt;  // caf:// or unknown: opening the store says why
  }
}

namespace {

[[noreturn]] void invalid(const std::string& message, const char* op) {
  throw store_error(errc::invalid_argument, message, op);
}

const char* kind_name(store_kind k) {
  return k == store_kind::vector ? "a vector store" : "a cache";
}

// Both stores' kind. A remote caf:// store takes the other side's kind; two
// remote ones are taken as vector stores unless nothing else fits.
store_kind common_kind(const std::string& from_uri, const std::string& to_uri,
                       const char* op) {
  auto a = kind_of_uri(from_uri);
  auto b = kind_of_uri(to_uri);
  if (a && b && *a != *b)
    invalid("--from '" + redact_uri(from_uri) + "' is " + kind_name(*a) +
                " but --to '" + redact_uri(to_uri) + "' is " + kind_name(*b) +
                "; a migration copies vector store to vector store or cache to "
                "cache",
            op);
  if (a) return *a;
  if (b) return *b;
  return store_kind::vector;
}

// The two stores of a migration or a verification, resolved and checked.
struct store_pair {
  store_kind kind;
  std::vector<std::string> names;  // as given, each once, validated
};

store_pair check_pair(runtime& rt, const std::string& from,
                      const std::string& to,
                      const std::vector<std::string>& collections,
                      migration_options& opts, const char* op) {
  auto from_uri = rt.resolve(from);
  auto to_uri = rt.resolve(to);
  store_pair p;
  p.kind = common_kind(from_uri, to_uri, op);
  if (same_data(from_uri, to_uri))
    invalid("--from and --to are the same store '" + redact_uri(from_uri) + "'",
            op);
  opts.source_name = redact_uri(from_uri);
  opts.target_name = redact_uri(to_uri);
  if (p.kind == store_kind::cache) {
    if (!collections.empty())
      invalid("--collection applies to vector stores; '" +
                  redact_uri(from_uri) + "' is a cache",
              op);
    return p;
  }
  for (auto& c : collections) {
    try {
      validate_collection_name(c);
    } catch (const store_error& e) {
      throw e.with_context(op, opts.source_name);
    }
  }
  // Named twice is handled once.
  for (auto& c : collections)
    if (std::find(p.names.begin(), p.names.end(), c) == p.names.end())
      p.names.push_back(c);
  return p;
}

// Before either is opened: a store whose live migration cut over in an
// earlier process is served from that migration's target (the journal), so
// the source named may serve from the target named -- a copy (or a
// comparison) of one store with itself. (Opened first, the second would
// meet the first in its faiss:// directory: a `conflict` that says less.)
void check_served_apart(runtime& rt, const std::string& from,
                        const std::string& to, const char* op) {
  auto from_uri = rt.resolve(from);
  auto to_uri = rt.resolve(to);
  // A caf:// store's node decides where it serves from.
  if (is_remote(from_uri) || is_remote(to_uri)) return;
  auto a = rt.serves_from(from);
  auto b = rt.serves_from(to);
  if (!same_data(a, b)) return;
  // Name the side the journal moved (--from, unless only --to moved).
  bool from_moved = !same_data(a, from_uri) || same_data(b, to_uri);
  auto moved = from_moved ? "--from '" + redact_uri(from_uri)
                          : "--to '" + redact_uri(to_uri);
  auto other = from_moved ? "--to '" + redact_uri(to_uri)
                          : "--from '" + redact_uri(from_uri);
  invalid(moved + "' is served from '" + redact_uri(from_moved ? a : b) +
              "' (its live migration cut over; the migration journal in the "
              "state directory says so), which is where " +
              other + "' is: the same store",
          op);
}

// An embedded store (a faiss:// directory, a sqlite:// file) that is not
// there is a typo, not an empty store: opening it would create it, and a
// copy or comparison of nothing would pass. Where the journal moved the
// store's data elsewhere, that backend is the one that must exist.
void check_exists(runtime& rt, const std::string& uri_or_name, const char* flag,
                  const char* op) {
  auto uri = rt.serves_from(uri_or_name);
  std::string scheme, path;
  try {
    auto parsed = store_uri::parse(uri);
    scheme = parsed.scheme();
    path = parsed.path();
  } catch (const store_error&) {
    return;  // opening the store names what is wrong with it
  }
  if ((scheme != "faiss" && scheme != "sqlite") || path.empty()) return;
  std::error_code ec;
  bool there = scheme == "faiss" ? std::filesystem::is_directory(path, ec)
                                 : std::filesystem::exists(path, ec);
  if (there) return;
  invalid(std::string(flag) + " '" + redact_uri(rt.resolve(uri_or_name)) +
              "': there is no store at " + path +
              (scheme == "faiss" ? " (no such directory)" : " (no such file)") +
              "; nothing was created",
          op);
}

using spec_map = std::map<std::string, collection_spec>;

spec_map specs_of(const std::vector<collection_spec>& listed) {
  spec_map out;
  for (auto& s : listed) out.emplace(s.name, s);
  return out;
}

spec_map specs_of(vector_store& vs) {
  return specs_of(vs.list_collections().get());
}

std::string what_of(const std::string& collection) {
  return "collection '" + collection + "'";
}

// Compares one collection, wherever it is; the report says when it is on one
// side only or differs in dimension or metric.
verification_result verify_one(runtime& rt, vector_store& src,
                               vector_store& dst, const std::string& name,
                               const spec_map& on_src, const spec_map& on_dst,
                               const migration_options& opts) {
  auto began = std::chrono::steady_clock::now();
  auto a = on_src.find(name);
  auto b = on_dst.find(name);
  collection_sides sides{a != on_src.end(), b != on_dst.end()};
  verification_result out;
  out.collection = name;
  out.report =
      compare_collection(rt.system(), src.actor(), dst.actor(), name,
                         std::max<std::uint32_t>(1, opts.batch),
                         opts.source_name, opts.target_name, {}, sides);
  if (sides.on_source && sides.on_target && !(a->second == b->second))
    out.report.collection_problem =
        "has dimension " + std::to_string(a->second.dimension) +
        " and metric " + to_string(a->second.metric) +
        " on the source but dimension " + std::to_string(b->second.dimension) +
        " and metric " + to_string(b->second.metric) + " on the target";
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began)
          .count();
  return out;
}

// A named collection the source lacks fails before the target is opened.
void check_named_on_source(const std::vector<std::string>& names,
                           const spec_map& on_src,
                           const migration_options& opts) {
  for (auto& c : names)
    if (!on_src.count(c))
      throw store_error(errc::collection_not_found,
                        "collection '" + c +
                            "' does not exist on the source; nothing was "
                            "written",
                        "migrate", opts.source_name);
}

// Every collection (each on the source) checked on the target before the
// first is copied: a later collection's conflict must not find earlier ones
// written (CLI.md: "nothing is written").
void check_before_copying(const std::vector<std::string>& names,
                          const spec_map& on_src, const spec_map& on_dst,
                          const migration_options& opts) {
  for (auto& c : names) {
    auto a = on_src.find(c);
    auto b = on_dst.find(c);
    if (b != on_dst.end() && !(a->second == b->second))
      throw store_error(
          errc::conflict,
          "collection '" + c + "' exists on the target with dimension " +
              std::to_string(b->second.dimension) + " and metric " +
              to_string(b->second.metric) + ", not dimension " +
              std::to_string(a->second.dimension) + " and metric " +
              to_string(a->second.metric) +
              " as on the source; nothing was written",
          "migrate", opts.target_name);
  }
}

// A deferred index built on an adapter of its own, as a live migration
// builds it (live_migration_impl.hpp), within index_build_time. In-process
// targets grow their index with the writes.
std::function<void(const std::string&)> own_connection_builder(
    const std::string& uri) {
  return [uri](const std::string& collection) {
    auto spec = vector_pool_for(uri);
    if (spec.sharded) return;
    auto deadline =
        std::chrono::steady_clock::now() + index_build_time(spec.timeout);
    auto backend = spec.make_backend(0, deadline);
    backend->set_deadline(deadline);
    backend->build_index(collection);
  };
}

[[noreturn]] void fail_verification(const std::vector<std::string>& what) {
  std::string message;
  for (auto& w : what) message += (message.empty() ? "" : "; ") + w;
  throw store_error(errc::verification_failed, message, "verify");
}

}  // namespace

void migrate_stores(runtime& rt, const std::string& from, const std::string& to,
                    const std::vector<std::string>& collections,
                    migration_options opts,
                    std::function<void(const migration_result&)> on_result) {
  caf_thread_guard caf_thread;
  if (!on_result) on_result = [](const migration_result&) {};
  auto pair = check_pair(rt, from, to, collections, opts, "migrate");
  check_served_apart(rt, from, to, "migrate");
  check_exists(rt, from, "--from", "migrate");
  // A checkpoint file of another migration is refused before anything is
  // created on the target, not when the first collection's copy opens it.
  if (!opts.checkpoint_file.empty())
    checkpoint_file::open(opts.checkpoint_file, opts.source_name,
                          opts.target_name);
  if (pair.kind == store_kind::cache) {
    auto src = rt.open_cache(from);
    auto dst = rt.open_cache(to);
    on_result(migrate_cache(rt.system(), src.actor(), dst.actor(), opts));
    return;
  }
  auto src = rt.open_vector(from);
  // The source's list first: an unreachable source or a collection it lacks
  // fails before the target is opened (which creates a new faiss://
  // directory).
  auto listed = src.list_collections().get();
  check_named_on_source(pair.names, specs_of(listed), opts);
  auto dst = rt.open_vector(to);
  if (auto uri = rt.resolve(to); !opts.index_builder && !is_remote(uri))
    opts.index_builder = own_connection_builder(uri);
  auto names = pair.names;
  bool whole_store = names.empty();
  if (whole_store)
    for (auto& spec : listed) names.push_back(spec.name);
  check_before_copying(names, specs_of(listed), specs_of(dst), opts);
  for (auto& c : names)
    on_result(
        migrate_collection(rt.system(), src.actor(), dst.actor(), c, opts));
  if (!whole_store || !opts.verify) return;
  // Each collection copied verified; the lists as they are now may still
  // differ: a collection only the target has, or one created on the source
  // during the copy.
  auto on_src = specs_of(src);
  auto on_dst = specs_of(dst);
  std::vector<std::string> problems;
  for (auto* side : {&on_src, &on_dst})
    for (auto& [name, spec] : *side) {
      if (on_src.count(name) && on_dst.count(name)) continue;
      auto v = verify_one(rt, src, dst, name, on_src, on_dst, opts);
      problems.push_back(describe(v.report, what_of(name)));
      if (!on_src.count(name))
        problems.back() +=
            " (a migration of every collection leaves the target with the "
            "source's collections only: drop it on the target, or name the "
            "collections to migrate)";
    }
  if (problems.empty()) return;
  // The store as a whole failed verification: none of its collections
  // stays completed in the checkpoint, so a rerun compares (and repairs)
  // each again instead of trusting it.
  if (!opts.checkpoint_file.empty()) {
    auto file = checkpoint_file::open(opts.checkpoint_file, opts.source_name,
                                      opts.target_name);
    for (auto& c : names) file.set_completed(c, false);
  }
  fail_verification(problems);
}

void verify_stores(runtime& rt, const std::string& from, const std::string& to,
                   const std::vector<std::string>& collections,
                   migration_options opts,
                   std::function<void(const verification_result&)> on_result) {
  caf_thread_guard caf_thread;
  if (!on_result) on_result = [](const verification_result&) {};
  auto pair = check_pair(rt, from, to, collections, opts, "verify");
  check_served_apart(rt, from, to, "verify");
  check_exists(rt, from, "--from", "verify");
  check_exists(rt, to, "--to", "verify");
  std::vector<std::string> problems;
  if (pair.kind == store_kind::cache) {
    auto began = std::chrono::steady_clock::now();
    auto src = rt.open_cache(from);
    auto dst = rt.open_cache(to);
    verification_result v;
    v.report = compare_cache(rt.system(), src.actor(), dst.actor(),
                             std::max<std::uint32_t>(1, opts.batch),
                             opts.expiry_tolerance, opts.source_name,
                             opts.target_name);
    v.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began)
            .count();
    on_result(v);
    if (!v.report.passed())
      fail_verification({describe(v.report, "the cache")});
    return;
  }
  auto src = rt.open_vector(from);
  auto dst = rt.open_vector(to);
  auto on_src = specs_of(src);
  auto on_dst = specs_of(dst);
  auto names = pair.names;
  for (auto& c : names)
    if (!on_src.count(c) && !on_dst.count(c))
      throw store_error(errc::collection_not_found,
                        "collection '" + c +
                            "' exists neither on the source nor on the target",
                        "verify", opts.source_name);
  if (names.empty()) {
    // Both lists, in name order: std::map iterates sorted.
    spec_map all = on_src;
    all.insert(on_dst.begin(), on_dst.end());
    for (auto& [name, spec] : all) names.push_back(name);
  }
  for (auto& c : names) {
    auto v = verify_one(rt, src, dst, c, on_src, on_dst, opts);
    on_result(v);
    if (!v.report.passed()) problems.push_back(describe(v.report, what_of(c)));
  }
  if (!problems.empty()) fail_verification(problems);
}

}  // namespace storage
