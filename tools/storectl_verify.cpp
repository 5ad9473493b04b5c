// `storectl verify`: compares two stores as a migration's verification does,
// without copying or repairing anything. One summary line per collection (or
// one for a cache) in the shape of migrate's, with what differs by kind; then
// verification_failed (exit 1) if anything differs.
#include <iostream>
#include <memory>

#include "runtime/migrate.hpp"
#include "tools/storectl.hpp"
#include "tools/storectl_migrate.hpp"

namespace storectl {

namespace {

struct verify_args {
  std::string from;
  std::string to;
  std::string config;
  std::vector<std::string> collections;
};

nlohmann::ordered_json summary(const storage::verification_result& v) {
  auto& r = v.report;
  nlohmann::ordered_json out = {{"collection", collection_field(v.collection)},
                                {"copied", 0},
                                {"source_count", r.source_count},
                                {"target_count", r.target_count},
                                {"verified", r.passed()},
                                {"missing", r.missing.count},
                                {"extra", r.extra.count},
                                {"mismatched", r.mismatched.count},
                                {"first_missing", r.missing.first},
                                {"first_extra", r.extra.first},
                                {"first_mismatched", r.mismatched.first},
                                {"seconds", summary_seconds(v.seconds)}};
  // Why a collection failed that no record explains: it is on one side
  // only, or its spec differs.
  if (!r.collection_problem.empty()) out["problem"] = r.collection_problem;
  return out;
}

void run(const verify_args& a) {
  storage::runtime rt(migration_runtime_options(a.from, a.to, a.config));
  storage::verify_stores(rt, a.from, a.to, a.collections, {},
                         [](const storage::verification_result& v) {
                           print(summary(v));
                           std::cout.flush();
                         });
}

}  // namespace

void add_verify_command(CLI::App& app, action& selected) {
  auto args = std::make_shared<verify_args>();
  auto* cmd = app.add_subcommand(
      "verify", "compare two stores record by record, changing neither");
  cmd->add_option("--from", args->from, "source store URI or name")->required();
  cmd->add_option("--to", args->to, "target store URI or name")->required();
  cmd->add_option("--config", args->config,
                  "CAF-style config file whose [stores] section names URIs");
  cmd->add_option("--collection", args->collections,
                  "a collection to compare (repeatable; default: every "
                  "collection of either store)");
  cmd->callback([&selected, args] { selected = [args] { run(*args); }; });
}

}  // namespace storectl
