// What `storectl migrate` and `storectl verify` share: how they start a
// runtime for two stores, and the summary line's common fields.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/runtime.hpp"

namespace storectl {

// A runtime for --from and --to: each a URI, or a store name that needs
// --config. invalid_argument otherwise.
storage::runtime_options migration_runtime_options(const std::string& from,
                                                   const std::string& to,
                                                   const std::string& config);

// "collection": the name, or null for a cache (empty name).
nlohmann::ordered_json collection_field(const std::string& collection);

// Seconds rounded to milliseconds, as every summary prints them.
double summary_seconds(double seconds);

// migrate --live (storectl_migrate_live.cpp).
struct live_args {
  std::string from;
  std::string to;
  std::string config;
  std::int64_t batch = 500;
  bool verify = true;
  bool abort = false;
  bool finalize = false;
};
void run_live_migration(const live_args& a);

}  // namespace storectl
