// The progress module: rates count only this run's work, the ETA follows
// from them, and each renderer writes the shape its reader expects.
#include <algorithm>
#include <sstream>

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
            R"("rate":125.0,"eta_seconds":6.0}})");
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
