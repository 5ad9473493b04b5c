// Opening the store a command names: a URI, or a name from --config. A store
// of the wrong kind is rejected here with a message naming both kinds,
// rather than by whatever the first request would happen to report.
#include <algorithm>
#include <fstream>

#include "messages/errors.hpp"
#include "messages/store_uri.hpp"
#include "tools/storectl.hpp"

namespace storectl {

namespace {

const std::vector<std::string> vector_schemes = {"faiss", "chroma", "pgvector",
                                                 "caf"};
const std::vector<std::string> cache_schemes = {"memory", "sqlite", "redis",
                                                "caf"};

bool is_uri(const std::string& s) {
  return s.find("://") != std::string::npos;
}

storage::runtime_options runtime_options_for(const store_options& opts) {
  if (!opts.config.empty() && !std::ifstream(opts.config))
    invalid("cannot read config file '" + opts.config + "'");
  if (opts.config.empty() && !is_uri(opts.store))
    invalid("--store '" + storage::redact_uri(opts.store) +
            "' is not a URI; a store name needs --config FILE");
  storage::runtime_options ro;
  ro.config_file = opts.config;
  warn_if_exposed(opts.config);
  return ro;
}

void check_kind(storage::runtime& rt, const store_options& opts,
                const std::vector<std::string>& schemes, const char* kind,
                const char* other_kind) {
  auto uri = storage::store_uri::parse(rt.resolve(opts.store));
  bool ok =
      std::any_of(schemes.begin(), schemes.end(),
                  [&](const std::string& s) { return uri.scheme() == s; });
  if (!ok) {
    std::string known;
    for (const auto& s : schemes) known += (known.empty() ? "" : ", ") + s;
    invalid("store '" + uri.redacted() + "' has scheme '" + uri.scheme() +
            "', which is not a " + kind + " (expected one of " + known +
            "; is it a " + other_kind + "?)");
  }
}

}  // namespace

void with_vector_store(
    const store_options& opts,
    const std::function<void(storage::vector_store&)>& body) {
  storage::runtime rt(runtime_options_for(opts));
  check_kind(rt, opts, vector_schemes, "vector store", "cache");
  auto store = rt.open_vector(opts.store);
  body(store);
}

void with_runtime(
    const store_options& opts,
    const std::function<void(storage::runtime&, const std::string&)>& body) {
  storage::runtime rt(runtime_options_for(opts));
  body(rt, rt.resolve(opts.store));
}

void with_cache_store(const store_options& opts,
                      const std::function<void(storage::cache_store&)>& body) {
  storage::runtime rt(runtime_options_for(opts));
  check_kind(rt, opts, cache_schemes, "cache", "vector store");
  auto store = rt.open_cache(opts.store);
  body(store);
}

}  // namespace storectl
