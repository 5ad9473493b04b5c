// Migration progress for people and for scripts: one source of numbers
// (done, total, rate, ETA) and two renderers — a live bar for a terminal and
// one JSON line per report for anything else (stderr in both cases: stdout
// carries only the summaries).
#pragma once

#include <mutex>
#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/migration/migration.hpp"

namespace storage {

struct progress_snapshot {
  std::string collection;  // empty for a cache
  std::uint64_t done = 0;
  std::uint64_t total = 0;
  double rate = 0;                    // records per second, this run
  std::optional<double> eta_seconds;  // the copy's; unknown without a rate
  migration_phase phase = migration_phase::copy;
};

// Turns the pipeline's reports into rates. The rate counts only what this
// run did: a resumed run starts from the checkpoint's count, which it did
// not copy.
class progress_meter {
 public:
  progress_snapshot update(const migration_progress& p);

 private:
  std::string collection_;
  std::optional<std::uint64_t> first_done_;
  double first_seconds_ = 0;
};

// {"progress":{"collection":C|null,"done":N,"total":N,"rate":R,
//              "eta_seconds":S|null,"phase":"count|copy|index|verify"}}
nlohmann::ordered_json progress_json(const progress_snapshot& s);

// "docs [########------------] 12000/50000 2345/s ETA 16s", no newline;
// after the copy "... 50000/50000 2345/s building the index" or
// "... verifying".
std::string progress_bar(const progress_snapshot& s, std::size_t width = 30);

// The on_progress callback of a command-line tool.
class progress_renderer {
 public:
  progress_renderer(std::ostream& out, bool terminal)
      : out_(out), terminal_(terminal) {}

  void operator()(const migration_progress& p);
  // Ends the bar's line, if one is open.
  void finish();

 private:
  std::ostream& out_;
  bool terminal_;
  bool open_line_ = false;
  std::string last_collection_;
  progress_meter meter_;
  std::mutex mtx_;
};

}  // namespace storage
