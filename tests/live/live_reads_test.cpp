// Reads during a live migration go straight to the serving pool's workers
// while the router holds no write back, and wait with the writes while it
// does; either way a caller's read takes effect after that caller's earlier
// writes. Here the target is stuck behind another connection's lock on its
// SQLite file, so its mirrors back up past the lag bound
// (actors/live/dual_write.hpp) and the router holds later writes until the
// lock goes: the route flips while the caller's writes are in flight.
#include <gtest/gtest.h>

#include "live_support.hpp"
#include "support/sqlite_file_lock.hpp"

namespace storage::test {
namespace {

using namespace std::chrono_literals;

TEST(live_reads, a_read_follows_its_callers_held_writes) {
  runtime rt;
  auto dir = fresh_dir();
  auto src = "sqlite://" + dir + "/source.db";
  auto tgt_path = dir + "/target.db";
  // Long enough that nothing times out while the lock is held.
  auto tgt = "sqlite://" + tgt_path + "?timeout_ms=60000&busy_timeout_ms=60000";
  {
    runtime other;  // the target's file and schema exist before the lock
    auto t = other.open_cache(tgt);
    await(t.set("schema", "1"));
    await(t.del({"schema"}));
  }
  auto cs = rt.open_cache(src);
  await(cs.set("read_me", "1"));
  sqlite_file_lock lock(tgt_path);
  auto m = rt.migrate_live(src, tgt);
  // Past dual_write: the router mirrors every write from now on.
  auto until = std::chrono::steady_clock::now() + 30s;
  while (m.state() == live_state::dual_write &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(m.state(), live_state::backfill) << outcome(m);
  // The first read goes straight to the source: nothing is held yet.
  EXPECT_EQ(await(cs.get("read_me")), "1");

  // One caller's writes, not awaited, each followed by its read of the key
  // it wrote: the source answers the first writes, whose mirrors cannot
  // land; past the lag bound (at most 16 entries) the router holds the
  // rest, and the reads behind them.
  constexpr int n = 40;
  std::vector<std::future<void>> writes;
  std::vector<std::future<std::optional<std::string>>> reads;
  for (int i = 0; i < n; ++i) {
    writes.push_back(cs.set("k" + std::to_string(i), "v" + std::to_string(i)));
    reads.push_back(cs.get("k" + std::to_string(i)));
  }
  ASSERT_EQ(writes.front().wait_for(60s), std::future_status::ready);
  EXPECT_EQ(writes.back().wait_for(0s), std::future_status::timeout)
      << "the last write was not held (the test proves nothing)";
  EXPECT_EQ(m.state(), live_state::backfill) << outcome(m);

  lock.release();
  for (auto& w : writes) EXPECT_NO_THROW(await(std::move(w)));
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(await(std::move(reads[i])), "v" + std::to_string(i)) << i;
  ASSERT_EQ(settle(m), live_state::done) << outcome(m);
  m.finalize();

  runtime direct;
  auto target = direct.open_cache(tgt);
  EXPECT_EQ(await(target.get("read_me")), "1");
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(await(target.get("k" + std::to_string(i))),
              "v" + std::to_string(i))
        << i;
}

}  // namespace
}  // namespace storage::test
