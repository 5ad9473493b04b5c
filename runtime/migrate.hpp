// Offline migration between two stores of a runtime, by name or URI: the
// layer `storectl migrate` and `storectl verify` and applications call. It
// checks that both stores are of one kind, picks the collections, names the
// stores in errors and in the checkpoint file, and runs
// actors/migration/migration.hpp per collection.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actors/migration/migration.hpp"
#include "actors/migration/migration_verifier.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/runtime.hpp"

namespace storage {

// The kind a URI's scheme names; caf:// (a remote store) names none.
std::optional<store_kind> kind_of_uri(const std::string& uri);

// Copies `from` into `to` (names or URIs). Vector stores: `collections`, or
// every collection of `from` when empty, one after another, after checking
// them all on both sides (one missing on the source, or held by the target
// with another dimension or metric, fails before anything is written);
// caches: every live key (`collections` must be empty). `on_result` gets
// each summary as soon as its collection is done. A whole vector store (no
// collection named) verifies the collection lists too, after the copies
// (unless opts.verify is false): a
// collection on only one side then fails verification (one only on the target
// is reported, never dropped: the migration copies the source's collections and
// owns no other). Throws store_error: invalid_argument when the two stores are
// of different kinds or hold the same data (data_identity in
// store_identity.hpp: however each is spelled, whatever its pool, timeouts,
// bounds or password), or when `from` is an embedded store (faiss://
// directory, sqlite:// file) that does not exist where its data would be
// (runtime::serves_from): opening it would create an empty store, so nothing
// is created; whatever migrate_collection / migrate_cache throw. The source
// is listed before the target is opened.
// `on_result` may be empty. A target collection created without its
// approximate index gets it on a connection of the migration's own, with at
// least an hour to build, not within the store's timeout_ms (unless
// opts.index_builder says otherwise, or the target is caf://, where the
// node builds it within its timeout_ms).
void migrate_stores(
    runtime& rt, const std::string& from, const std::string& to,
    const std::vector<std::string>& collections, migration_options opts,
    std::function<void(const migration_result&)> on_result = {});

// One collection's verification, or the cache's (collection empty).
struct verification_result {
  std::string collection;
  verify_report report;
  double seconds = 0;
};

// Compares `to` with `from` and changes neither. Vector stores: the named
// collections, or the union of both sides' collections when none is named; a
// collection on one side only compares with nothing (every record missing or
// extra) and fails, as does one with another dimension or metric. Caches:
// every live key. `on_result` gets each result as it is known; afterwards
// verification_failed names every collection that differs. Also throws as
// migrate_stores does (an embedded store that does not exist is refused on
// either side), and collection_not_found for a named collection that is on
// neither side. Uses opts.batch (page size), opts.expiry_tolerance.
void verify_stores(
    runtime& rt, const std::string& from, const std::string& to,
    const std::vector<std::string>& collections, migration_options opts,
    std::function<void(const verification_result&)> on_result = {});

}  // namespace storage
