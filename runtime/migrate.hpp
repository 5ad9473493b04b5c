// Offline migration between two stores of a runtime, by name or URI: the
// layer `storectl migrate` and applications call. It checks that both stores
// are of one kind, picks the collections, names the stores in errors and in
// the checkpoint file, and runs actors/migration.hpp per collection.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actors/migration.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/runtime.hpp"

namespace storage {

// The kind a URI's scheme names; caf:// (a remote store) names none.
std::optional<store_kind> kind_of_uri(const std::string& uri);

// Copies `from` into `to` (names or URIs). Vector stores: `collections`, or
// every collection of `from` when empty, one after another; caches: every
// live key (`collections` must be empty). `on_result` gets each summary as
// soon as its collection is done. Throws store_error: invalid_argument when
// the two stores are of different kinds or the same store; whatever
// migrate_collection / migrate_cache throw.
void migrate_stores(
    runtime& rt, const std::string& from, const std::string& to,
    const std::vector<std::string>& collections, migration_options opts,
    const std::function<void(const migration_result&)>& on_result);

}  // namespace storage
