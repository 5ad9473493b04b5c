// The library's logger: named "storage", on stderr — never stdout, which
// applications (and storectl) use for their own output. Its level follows
// spdlog's global level (spdlog::set_level), like any spdlog logger. Every
// line passes through scrubbing_sink, so no password this process has seen
// (secrets.hpp) reaches the log, whatever a server's message quoted.
#pragma once

#include <spdlog/sinks/sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "messages/secrets.hpp"

namespace storage {

// Forwards each message to `inner` with remembered secrets replaced by ***.
class scrubbing_sink final : public spdlog::sinks::sink {
 public:
  explicit scrubbing_sink(spdlog::sink_ptr inner) : inner_(std::move(inner)) {}

  void log(const spdlog::details::log_msg& msg) override {
    auto text =
        scrub_secrets(std::string(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(text.data(), text.size());
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override {
    inner_->set_pattern(pattern);
  }
  void set_formatter(std::unique_ptr<spdlog::formatter> f) override {
    inner_->set_formatter(std::move(f));
  }

 private:
  spdlog::sink_ptr inner_;
};

// A registered logger `name` writing scrubbed lines to stderr.
inline std::shared_ptr<spdlog::logger> make_scrubbed_logger(
    const std::string& name, bool color = true) {
  spdlog::sink_ptr err;
  if (color)
    err = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  else
    err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto log = std::make_shared<spdlog::logger>(
      name, std::make_shared<scrubbing_sink>(std::move(err)));
  spdlog::initialize_logger(log);
  return log;
}

inline std::shared_ptr<spdlog::logger> storage_log() {
  static const std::shared_ptr<spdlog::logger> log = [] {
    if (auto existing = spdlog::get("storage")) return existing;
    return make_scrubbed_logger("storage");
  }();
  return log;
}

}  // namespace storage
