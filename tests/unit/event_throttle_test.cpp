// event_throttle: one line per interval, the folded events counted in the
// next line or, when none comes, when the throttle goes.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "actors/pool/event_throttle.hpp"

namespace storage {
namespace {

TEST(event_throttle, folds_events_and_reports_the_rest_at_the_end) {
  std::vector<std::uint64_t> lines;
  {
    event_throttle t(std::chrono::hours(1));
    for (int i = 0; i < 5; ++i)
      t.note([&lines](std::uint64_t n) { lines.push_back(n); });
    EXPECT_EQ(lines, std::vector<std::uint64_t>{1});
  }
  EXPECT_EQ(lines, (std::vector<std::uint64_t>{1, 4}));
}

TEST(event_throttle, the_next_line_after_the_interval_counts_what_was_folded) {
  std::vector<std::uint64_t> lines;
  {
    event_throttle t(std::chrono::milliseconds(20));
    auto write = [&lines](std::uint64_t n) { lines.push_back(n); };
    for (int i = 0; i < 3; ++i) t.note(write);
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    t.note(write);
    EXPECT_EQ(lines, (std::vector<std::uint64_t>{1, 3}));
  }
  EXPECT_EQ(lines, (std::vector<std::uint64_t>{1, 3})) << "nothing left over";
}

}  // namespace
}  // namespace storage
