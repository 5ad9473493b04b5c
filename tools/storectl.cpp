// storectl: the command-line contract of /work/shared/design/CLI.md. Each
// command family lives in its own file and registers itself here.
#include <cstdlib>
#include <iostream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "adapters/storage_log.hpp"
#include "messages/secrets.hpp"
#include "messages/store_uri.hpp"
#include "runtime/log_config.hpp"
#include "runtime/version.hpp"
#include "tools/storectl.hpp"

namespace {

// stdout carries only the command's JSON and stderr only its one error line,
// so the runtime's logging stays off unless --log-level or STORECTL_LOG
// asks for a level (applied after parsing, pinned over config files).
void quiet_logging() {
  auto logger = storage::make_scrubbed_logger("storectl", false);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::off);
}

// Every argument that may be a URI has its password remembered before
// anything can echo it: CLI11's own messages quote rejected arguments.
void remember_argument_secrets(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos)
      arg = arg.substr(arg.find('=') + 1);
    if (arg.find('@') != std::string::npos) storage::redact_uri(arg);
  }
}

// --help is a success; every other parse failure is syntax: exit 2.
int exit_for(CLI::App& app, const CLI::ParseError& e) {
  std::ostringstream out, err;
  int code = app.exit(e, out, err);
  std::cout << out.str();
  std::cerr << storage::scrub_secrets(err.str());
  return code == 0 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  remember_argument_secrets(argc, argv);
  quiet_logging();
  CLI::App app{"storectl: drive vector stores and caches from scripts"};
  // Before adding subcommands: they copy the parent's failure message.
  app.failure_message(CLI::FailureMessage::help);
  app.require_subcommand(1);
  app.set_version_flag("--version",
                       std::string("storectl ") + storage::version_string);
  // Global options may follow the subcommand (storectl vector list ...
  // --output table): every subcommand falls through to these.
  app.fallthrough();
  std::string output, log_level;
  app.add_option("--output", output,
                 "json (one object per line, the default: CLI.md) or "
                 "table (the same objects, for people)")
      ->check(CLI::IsMember({"json", "table"}));
  app.add_option("--log-level", log_level,
                 "the runtime's log on stderr: trace, debug, info, warn, "
                 "error, critical, off (default off; beats STORECTL_LOG and "
                 "a config file's [log] level)")
      ->check(CLI::IsMember(
          {"trace", "debug", "info", "warn", "error", "critical", "off"}));

  storectl::action selected;
  storectl::add_vector_commands(app, selected);
  storectl::add_cache_commands(app, selected);
  storectl::add_migrate_command(app, selected);
  storectl::add_verify_command(app, selected);
  storectl::add_serve_command(app, selected);
  storectl::add_doctor_command(app, selected);
  storectl::add_completion_command(app, selected);
  storectl::add_stats_command(app, selected);
  storectl::strict_integers(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::RequiredError& e) {
    auto unknown = storectl::find_unknown_command(app, argc, argv);
    if (unknown.under == nullptr) return exit_for(app, e);
    // Not under->help(): that shows a parsed subcommand's help instead.
    std::cerr << "storectl: " << storage::scrub_secrets(unknown.message) << "\n"
              << app.get_formatter()->make_help(unknown.under, unknown.path,
                                                CLI::AppFormatMode::Normal);
    return 2;
  } catch (const CLI::ParseError& e) {
    return exit_for(app, e);
  }
  storectl::set_output_format(output == "table"
                                  ? storectl::output_format::table
                                  : storectl::output_format::json);
  try {
    // A bad STORECTL_LOG is the usual error line, not a crash.
    if (!log_level.empty())
      storage::pin_log_level(log_level);
    else if (const char* env = std::getenv("STORECTL_LOG"))
      storage::pin_log_level(env, "STORECTL_LOG");
    if (selected) selected();
    storectl::flush_output();
    storectl::check_stdout();
    storectl::print_warnings();
    return 0;
  } catch (const std::exception& e) {
    storectl::flush_output();
    return storectl::report_error(e);
  } catch (...) {
    storectl::flush_output();
    return storectl::report_error(std::runtime_error("unknown exception"));
  }
}
