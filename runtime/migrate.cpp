#include "runtime/migrate.hpp"

#include <algorithm>

#include "messages/errors.hpp"
#include "messages/store_uri.hpp"
#include "messages/validation.hpp"

namespace storage {

std::optional<store_kind> kind_of_uri(const std::string& uri) {
  try {
    return kind_of(uri);
  } catch (const store_error&) {
    return std::nullopt;  // caf:// or unknown: opening the store says why
  }
}

namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw store_error(errc::invalid_argument, message, "migrate");
}

const char* kind_name(store_kind k) {
  return k == store_kind::vector ? "a vector store" : "a cache";
}

// Both stores' kind. A remote caf:// store takes the other side's kind; two
// remote ones are taken as vector stores unless nothing else fits.
store_kind common_kind(const std::string& from_uri, const std::string& to_uri) {
  auto a = kind_of_uri(from_uri);
  auto b = kind_of_uri(to_uri);
  if (a && b && *a != *b)
    invalid("--from '" + redact(from_uri) + "' is " + kind_name(*a) +
            " but --to '" + redact(to_uri) + "' is " + kind_name(*b) +
            "; a migration copies vector store to vector store or cache to "
            "cache");
  if (a) return *a;
  if (b) return *b;
  return store_kind::vector;
}

}  // namespace

void migrate_stores(
    runtime& rt, const std::string& from, const std::string& to,
    const std::vector<std::string>& collections, migration_options opts,
    const std::function<void(const migration_result&)>& on_result) {
  auto from_uri = rt.resolve(from);
  auto to_uri = rt.resolve(to);
  auto kind = common_kind(from_uri, to_uri);
  if (from_uri == to_uri)
    invalid("--from and --to are the same store '" + redact(from_uri) + "'");
  opts.source_name = redact(from_uri);
  opts.target_name = redact(to_uri);
  if (kind == store_kind::cache) {
    if (!collections.empty())
      invalid("--collection applies to vector stores; '" + redact(from_uri) +
              "' is a cache");
    auto src = rt.open_cache(from);
    auto dst = rt.open_cache(to);
    on_result(migrate_cache(rt.system(), src.actor(), dst.actor(), opts));
    return;
  }
  for (auto& c : collections) {
    try {
      validate_collection_name(c);
    } catch (const store_error& e) {
      throw e.with_context("migrate", opts.source_name);
    }
  }
  auto src = rt.open_vector(from);
  auto dst = rt.open_vector(to);
  // Named twice is copied once.
  std::vector<std::string> names;
  for (auto& c : collections)
    if (std::find(names.begin(), names.end(), c) == names.end())
      names.push_back(c);
  if (names.empty())
    for (auto& spec : src.list_collections().get()) names.push_back(spec.name);
  for (auto& c : names)
    on_result(
        migrate_collection(rt.system(), src.actor(), dst.actor(), c, opts));
}

}  // namespace storage
