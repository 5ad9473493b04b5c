#include "runtime/log_config.hpp"

#include <spdlog/sinks/basic_file_sink.h>

#include <atomic>

#include "adapters/storage_log.hpp"
#include "messages/errors.hpp"
#include "runtime/config_file.hpp"

namespace storage {

namespace {

std::atomic<bool> pinned{false};

spdlog::level::level_enum level_of(const std::string& name,
                                   const std::string& where) {
  static const char* names[] = {"trace", "debug",    "info", "warn",
                                "error", "critical", "off"};
  for (auto* n : names)
    if (name == n) return spdlog::level::from_str(name);
  throw store_error(errc::invalid_argument,
                    where + ": unknown log level '" + name +
                        "' (trace, debug, info, warn, error, critical, off)",
                    "open");
}

}  // namespace

log_options read_log_options(const std::string& path) {
  log_options out;
  for (auto& [key, value] : read_section(path, "log")) {
    if (key == "level") {
      level_of(value, "config file '" + path + "' [log]");
      out.level = value;
    } else if (key == "file") {
      if (value.empty())
        throw store_error(errc::invalid_argument,
                          "config file '" + path + "' [log]: file is empty",
                          "open");
      out.file = value;
    } else {
      throw store_error(errc::invalid_argument,
                        "config file '" + path + "' [log]: unknown key '" +
                            key + "' (level, file)",
                        "open");
    }
  }
  return out;
}

void apply_log_options(const log_options& opts) {
  // A level from the command line puts the log on stderr, as it says.
  if (pinned.load()) return;
  auto log = storage_log();
  if (opts.file) {
    spdlog::sink_ptr file;
    try {
      file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(*opts.file);
    } catch (const spdlog::spdlog_ex& e) {
      throw store_error(
          errc::invalid_argument,
          "cannot open log file '" + *opts.file + "': " + e.what(), "open");
    }
    log->sinks() = {std::make_shared<scrubbing_sink>(std::move(file))};
    // Each line on disk as it is logged: the lines a crash is explained by
    // would otherwise die with it in the buffer. The log is throttled
    // (event_throttle.hpp), so this costs a write per event, not per request.
    log->flush_on(spdlog::level::trace);
  }
  if (opts.level) log->set_level(level_of(*opts.level, "[log] level"));
}

bool log_level_pinned() {
  return pinned.load();
}

void pin_log_level(const std::string& level, const std::string& where) {
  auto l = level_of(level, where);
  pinned = true;
  spdlog::set_level(l);
}

}  // namespace storage
