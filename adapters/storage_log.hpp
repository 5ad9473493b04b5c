// The library's logger: named "storage", on stderr — never stdout, which
// applications (and storectl) use for their own output. Its level follows
// spdlog's global level (spdlog::set_level), like any spdlog logger.
#pragma once

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace storage {

inline std::shared_ptr<spdlog::logger> storage_log() {
  static const std::shared_ptr<spdlog::logger> log = [] {
    if (auto existing = spdlog::get("storage")) return existing;
    return spdlog::stderr_color_mt("storage");
  }();
  return log;
}

}  // namespace storage
