#include "runtime/migrate_progress.hpp"

#include <cmath>
#include <cstdio>

namespace storage {

progress_snapshot progress_meter::update(const migration_progress& p) {
  if (!first_done_ || p.collection != collection_ ||
      p.seconds < first_seconds_) {
    collection_ = p.collection;
    first_done_ = p.done;
    first_seconds_ = p.seconds;
  }
  progress_snapshot s;
  s.collection = p.collection;
  s.phase = p.phase;
  s.done = p.done;
  s.total = std::max(p.total, p.done);
  auto elapsed = p.seconds - first_seconds_;
  if (elapsed > 0)
    s.rate = static_cast<double>(p.done - *first_done_) / elapsed;
  if (p.phase != migration_phase::copy)
    return s;  // the copy's ETA says nothing about these steps
  if (s.done >= s.total)
    s.eta_seconds = 0.0;
  else if (s.rate > 0)
    s.eta_seconds = static_cast<double>(s.total - s.done) / s.rate;
  return s;
}

nlohmann::ordered_json progress_json(const progress_snapshot& s) {
  auto round1 = [](double x) { return std::round(x * 10) / 10; };
  nlohmann::ordered_json body = {
      {"collection", s.collection.empty()
                         ? nlohmann::ordered_json(nullptr)
                         : nlohmann::ordered_json(s.collection)},
      {"done", s.done},
      {"total", s.total},
      {"rate", round1(s.rate)},
      {"eta_seconds", s.eta_seconds
                          ? nlohmann::ordered_json(round1(*s.eta_seconds))
                          : nlohmann::ordered_json(nullptr)},
      {"phase", to_string(s.phase)}};
  return {{"progress", body}};
}

std::string progress_bar(const progress_snapshot& s, std::size_t width) {
  double frac =
      s.total == 0 ? 1.0
                   : static_cast<double>(s.done) / static_cast<double>(s.total);
  auto filled = static_cast<std::size_t>(frac * static_cast<double>(width));
  filled = std::min(filled, width);
  std::string out = s.collection.empty() ? "cache" : s.collection;
  out += " [" + std::string(filled, '#') + std::string(width - filled, '-') +
         "] " + std::to_string(s.done) + "/" + std::to_string(s.total) + " ";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f/s ", s.rate);
  out += buf;
  if (s.phase == migration_phase::count) return out + "counting keys";
  if (s.phase == migration_phase::index) return out + "building the index";
  if (s.phase == migration_phase::verify) return out + "verifying";
  out += "ETA ";
  if (s.eta_seconds) {
    std::snprintf(buf, sizeof buf, "%.0fs", *s.eta_seconds);
    out += buf;
  } else {
    out += "?";
  }
  return out;
}

void progress_renderer::operator()(const migration_progress& p) {
  std::lock_guard<std::mutex> guard(mtx_);
  bool next_collection = p.collection != last_collection_;
  auto s = meter_.update(p);
  if (!terminal_) {
    out_ << progress_json(s).dump(-1, ' ', false,
                                  nlohmann::json::error_handler_t::replace)
         << std::endl;
    return;
  }
  // One line per collection, redrawn in place (ESC[K clears what a longer
  // earlier drawing left).
  if (open_line_ && next_collection) out_ << '\n';
  auto line = progress_bar(s);
  out_ << '\r' << line << "\033[K" << std::flush;
  open_line_ = true;
  last_collection_ = p.collection;
}

void progress_renderer::finish() {
  std::lock_guard<std::mutex> guard(mtx_);
  if (open_line_) out_ << std::endl;
  open_line_ = false;
}

}  // namespace storage
