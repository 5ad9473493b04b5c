// The progress module: rates count only this run's work, the ETA follows
// from them, and each renderer writes the shape its reader expects.
#include <algorithm>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "actors/migration/progress_ticker.hpp"
#include "runtime/migrate_progress.hpp"

#include <gtest/gtest.h>

namespace storage {
namespace {

TEST(progress, rate_and_eta_count_only_this_run) {
  progress_meter m;
  // Resumed at 4000 of 10000: the 4000 were copied by an earlier run.
  auto s0 = m.update({"docs", 4000, 10000, 0.0});
  EXPECT_EQ(s0.rate, 0);
  EXPECT_FALSE(s0.eta_seconds.has_value());
  auto s1 = m.update({"docs", 6000, 10000, 2.0});
  EXPECT_DOUBLE_EQ(s1.rate, 1000.0);
  ASSERT_TRUE(s1.eta_seconds.has_value());
  EXPECT_DOUBLE_EQ(*s1.eta_seconds, 4.0);
  auto s2 = m.update({"docs", 10000, 10000, 4.0});
  EXPECT_DOUBLE_EQ(*s2.eta_seconds, 0.0);
  // A new collection starts a new rate.
  auto s3 = m.update({"other", 0, 50, 0.0});
  EXPECT_EQ(s3.rate, 0);
}

TEST(progress, json_line_shape) {
  progress_snapshot s{"docs", 250, 1000, 125.0, 6.0};
  auto j = progress_json(s);
  EXPECT_EQ(j.dump(),
            R"({"progress":{"collection":"docs","done":250,"total":1000,)"
            R"("rate":125.0,"eta_seconds":6.0,"phase":"copy"}})");
  s.collection.clear();
  s.eta_seconds.reset();
  j = progress_json(s);
  EXPECT_TRUE(j["progress"]["collection"].is_null());
  EXPECT_TRUE(j["progress"]["eta_seconds"].is_null());
}

TEST(progress, bar_shows_done_total_rate_and_eta) {
  progress_snapshot s{"docs", 500, 1000, 100.0, 5.0};
  auto bar = progress_bar(s, 10);
  EXPECT_EQ(bar, "docs [#####-----] 500/1000 100/s ETA 5s");
}

// After the copy the line says what the run does instead of an ETA: the
// copy's rate says nothing about an index build or a verification.
TEST(progress, steps_after_the_copy_have_a_phase_and_no_eta) {
  progress_meter m;
  m.update({"docs", 0, 1000, 0.0});
  auto s = m.update({"docs", 1000, 1000, 1.0, migration_phase::index});
  EXPECT_EQ(s.phase, migration_phase::index);
  EXPECT_FALSE(s.eta_seconds.has_value());
  EXPECT_EQ(progress_json(s)["progress"]["phase"], "index");
  EXPECT_TRUE(progress_json(s)["progress"]["eta_seconds"].is_null());
  EXPECT_EQ(progress_bar(s, 4),
            "docs [####] 1000/1000 1000/s building the index");
  s.phase = migration_phase::verify;
  EXPECT_EQ(progress_bar(s, 4), "docs [####] 1000/1000 1000/s verifying");
}

// A step without reports of its own (an index build, a verification) is
// reported at once and then about every second, until it ends.
TEST(progress, a_ticker_reports_each_second_until_destroyed) {
  std::mutex mtx;
  std::vector<migration_progress> seen;
  progress_ticker::callback report = [&](const migration_progress& p) {
    std::lock_guard<std::mutex> guard(mtx);
    seen.push_back(p);
  };
  {
    progress_ticker ticking(report, {"docs", 7, 9, 0, migration_phase::verify},
                            std::chrono::steady_clock::now());
    {
      std::lock_guard<std::mutex> guard(mtx);
      ASSERT_EQ(seen.size(), 1u);  // at once, on the caller's thread
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  }
  std::size_t n;
  {
    std::lock_guard<std::mutex> guard(mtx);
    n = seen.size();
    ASSERT_GE(n, 2u);
    EXPECT_LE(n, 4u);
    for (auto& p : seen) {
      EXPECT_EQ(p.collection, "docs");
      EXPECT_EQ(p.done, 7u);
      EXPECT_EQ(p.phase, migration_phase::verify);
    }
    EXPECT_GT(seen.back().seconds, seen.front().seconds);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  std::lock_guard<std::mutex> guard(mtx);
  EXPECT_EQ(seen.size(), n);  // none after the step ended
}

TEST(progress, renderers_write_json_lines_or_a_redrawn_bar) {
  std::ostringstream lines;
  progress_renderer json(lines, false);
  json({"docs", 0, 10, 0});
  json({"docs", 10, 10, 1});
  json.finish();
  std::istringstream in(lines.str());
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    EXPECT_TRUE(nlohmann::json::parse(line).contains("progress")) << line;
    ++n;
  }
  EXPECT_EQ(n, 2);

  std::ostringstream tty;
  progress_renderer bar(tty, true);
  bar({"docs", 0, 10, 0});
  bar({"docs", 10, 10, 1});
  bar.finish();
  auto text = tty.str();
  EXPECT_EQ(text.front(), '\r');
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("10/10"), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

}  // namespace
}  // namespace storage
