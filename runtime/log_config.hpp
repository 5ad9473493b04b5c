// Where the library's log goes and how much of it, from a config file's
// [log] section:
//
//   [log]
//   level="info"              ; trace, debug, info, warn, error, critical, off
//   file="/var/log/app/storage.log"   ; appended to; default: stderr
//
// The runtime applies it when it opens the config (runtime_options::
// config_file). A level given on a command line (pin_log_level) beats the
// whole section: that log goes to stderr at that level. A file gets each
// line as it is logged (flushed). Every sink stays behind scrubbing_sink:
// no password reaches a file either.
#pragma once

#include <optional>
#include <string>

namespace storage {

struct log_options {
  std::optional<std::string> level;
  std::optional<std::string> file;
};

// [log] of `path`; invalid_argument for an unknown key or level.
log_options read_log_options(const std::string& path);

// Sets the "storage" logger's level and sink. Call before stores are open:
// replacing a sink while other threads log is not safe.
void apply_log_options(const log_options& opts);

// From now on, config files' [log] sections are ignored and `level` holds,
// on the sink in place (stderr unless set before) (storectl --log-level).
// invalid_argument, naming `where` the level came from, for an unknown level.
void pin_log_level(const std::string& level,
                   const std::string& where = "--log-level");

// Whether pin_log_level was called.
bool log_level_pinned();

}  // namespace storage
