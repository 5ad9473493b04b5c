// `storectl migrate`: copies collections (or a cache) from one store to
// another, prints one summary line per collection on stdout and progress on
// stderr (CLI.md, "Migration").
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>

#include "messages/errors.hpp"
#include "messages/store_uri.hpp"
#include "runtime/migrate.hpp"
#include "runtime/migrate_progress.hpp"
#include "tools/storectl.hpp"
#include "tools/storectl_migrate.hpp"

namespace storectl {

namespace {

bool is_uri(const std::string& s) {
  return s.find("://") != std::string::npos;
}

}  // namespace

storage::runtime_options migration_runtime_options(const std::string& from,
                                                   const std::string& to,
                                                   const std::string& config) {
  if (!config.empty() && !std::ifstream(config))
    invalid("cannot read config file '" + config + "'");
  for (auto* s : {&from, &to})
    if (config.empty() && !is_uri(*s))
      invalid("store '" + storage::redact_uri(*s) +
              "' is not a URI; a store name needs --config FILE");
  storage::runtime_options ro;
  ro.config_file = config;
  warn_if_exposed(config);
  return ro;
}

nlohmann::ordered_json collection_field(const std::string& collection) {
  return collection.empty() ? nlohmann::ordered_json(nullptr)
                            : nlohmann::ordered_json(collection);
}

double summary_seconds(double seconds) {
  return std::round(seconds * 1000) / 1000;
}

namespace {

struct migrate_args {
  std::string from;
  std::string to;
  std::string config;
  std::vector<std::string> collections;
  std::int64_t batch = 500;
  std::string checkpoint;
  bool no_verify = false;
  bool live = false;
  bool abort = false;
  bool finalize = false;
};

// CLI.md's fields, no more: scripts read the summary by its shape. `copied`
// includes what a rerun's repair wrote.
nlohmann::ordered_json summary(const storage::migration_result& r) {
  return {{"collection", collection_field(r.collection)},
          {"copied", r.copied},
          {"source_count", r.source_count},
          {"target_count", r.target_count},
          {"verified", r.verified},
          {"seconds", summary_seconds(r.seconds)}};
}

// What a rerun's repair wrote or removed goes to stderr with the progress:
// {"repaired":{"collection":C|null,"records":N}}.
void report_repair(const storage::migration_result& r) {
  if (r.repaired == 0) return;
  nlohmann::ordered_json line = {
      {"repaired",
       {{"collection", collection_field(r.collection)},
        {"records", r.repaired}}}};
  std::cerr << line.dump(-1, ' ', false,
                         nlohmann::json::error_handler_t::replace)
            << std::endl;
}

void run(const migrate_args& a) {
  auto batch = require_positive(a.batch, "--batch");
  if (batch > 100000)
    invalid("--batch must be at most 100000, got " + std::to_string(batch));
  if (a.live && !a.collections.empty())
    invalid(
        "--collection does not go with --live: a live migration moves "
        "the whole store");
  if (a.live && !a.checkpoint.empty())
    invalid(
        "--checkpoint does not go with --live: the serving node keeps "
        "a live migration's journal itself");
  if (a.live)
    return run_live_migration(
        {a.from, a.to, a.config, batch, !a.no_verify, a.abort, a.finalize});
  if (a.abort || a.finalize) invalid("--abort and --finalize need --live");
  storage::migration_options opts;
  opts.batch = static_cast<std::uint32_t>(batch);
  opts.checkpoint_file = a.checkpoint;
  opts.verify = !a.no_verify;
  auto progress = std::make_shared<storage::progress_renderer>(
      std::cerr, ::isatty(STDERR_FILENO) == 1);
  opts.on_progress = [progress](const storage::migration_progress& p) {
    (*progress)(p);
  };
  storage::runtime rt(migration_runtime_options(a.from, a.to, a.config));
  try {
    storage::migrate_stores(rt, a.from, a.to, a.collections, opts,
                            [&](const storage::migration_result& r) {
                              progress->finish();
                              report_repair(r);
                              print(summary(r));
                              std::cout.flush();
                            });
  } catch (...) {
    progress->finish();
    throw;
  }
}

}  // namespace

void add_migrate_command(CLI::App& app, action& selected) {
  auto args = std::make_shared<migrate_args>();
  auto* cmd = app.add_subcommand(
      "migrate", "copy collections or a cache from one store to another");
  cmd->add_option("--from", args->from, "source store URI or name")->required();
  cmd->add_option("--to", args->to,
                  "target store URI or name (required unless --abort or "
                  "--finalize)");
  cmd->add_option("--config", args->config,
                  "CAF-style config file whose [stores] section names URIs");
  cmd->add_option("--collection", args->collections,
                  "a collection to copy (repeatable; default: all)");
  cmd->add_option("--batch", args->batch, "records per batch (default 500)");
  cmd->add_option("--checkpoint", args->checkpoint,
                  "file recording progress, to resume a killed run");
  cmd->add_flag("--no-verify", args->no_verify,
                "skip comparing both sides afterwards");
  cmd->add_flag("--live", args->live,
                "move a store another node serves (--from caf://HOST:PORT/"
                "NAME) while its clients keep working");
  cmd->add_flag("--abort", args->abort,
                "with --live: switch the store back to its source");
  cmd->add_flag("--finalize", args->finalize,
                "with --live: end reverse replication after cutover");
  cmd->callback([&selected, args] {
    if (args->to.empty() && !(args->live && (args->abort || args->finalize)))
      throw CLI::RequiredError("--to");
    selected = [args] { run(*args); };
  });
}

}  // namespace storectl
