// Live migration of a cache, sqlite:// -> Redis, under concurrent writes of
// every kind and reads, repeated with different timing.
#include "cache_round.hpp"

namespace storage::test {
namespace {

class cache_live : public ::testing::TestWithParam<int> {};

TEST_P(cache_live, no_lost_write_no_resurrected_delete_no_caller_error) {
  cache_round(static_cast<unsigned>(GetParam()) * 104729u + 3u);
}

INSTANTIATE_TEST_SUITE_P(runs, cache_live, ::testing::Range(0, 20));

// After cutover the source receives every write back; an abort with traffic
// running switches the store back to it without losing one.
class cache_live_abort : public ::testing::TestWithParam<int> {};

TEST_P(cache_live_abort, abort_after_cutover_keeps_every_write_on_the_source) {
  round_size size;
  size.after = std::chrono::milliseconds(200);
  size.abort_after_cutover = true;
  cache_round(static_cast<unsigned>(GetParam()) * 6151u + 5u, size);
}

INSTANTIATE_TEST_SUITE_P(runs, cache_live_abort, ::testing::Range(0, 5));

// Expiries travel with the keys: copied by the backfill, set live, and kept
// by incr (whose result the target gets as a copy of the source's state).
TEST(cache_live_ttl, expiries_follow_the_keys) {
  runtime rt;
  auto src = "sqlite://" + fresh_dir() + "/ttl.db";
  auto tgt = with_param(redis_uri(), "namespace=livettl" + unique_token());
  auto cs = rt.open_cache(src);
  await(cs.set("old", "1", 600000));
  await(cs.set("plain", "1"));
  await(cs.set("counter", "5", 600000));
  auto m = rt.migrate_live(src, tgt);
  // Wait for dual-writing, so these writes are mirrored, not backfilled.
  while (m.state() == live_state::dual_write)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  await(cs.set("new", "2", 600000));
  EXPECT_EQ(await(cs.incr("counter", 2)), 7);
  EXPECT_TRUE(await(cs.expire("plain", 600000)));
  ASSERT_EQ(settle(m), live_state::done) << outcome(m);

  runtime direct;
  auto redis = direct.open_cache(tgt);
  for (auto key : {"old", "new", "counter", "plain"}) {
    auto t = await(redis.ttl(key));
    EXPECT_TRUE(t.exists) << key;
    ASSERT_TRUE(t.ttl.has_value()) << key;
    EXPECT_GT(*t.ttl, 500000) << key;
  }
  EXPECT_EQ(await(redis.get("counter")), "7");
  m.finalize();
  await(cs.clear());
}

// A finished migration's clock stops: its duration (and the copy rate the
// metrics derive from it) does not keep changing after done.
TEST(cache_live_clock, seconds_freeze_when_the_migration_ends) {
  runtime rt;
  auto dir = fresh_dir();
  auto cs = rt.open_cache("sqlite://" + dir + "/from.db");
  for (int i = 0; i < 50; ++i) await(cs.set("k" + std::to_string(i), "v"));
  auto m = rt.migrate_live("sqlite://" + dir + "/from.db",
                           "sqlite://" + dir + "/to.db");
  ASSERT_EQ(settle(m), live_state::done) << outcome(m);
  auto at_end = m.progress().seconds;
  EXPECT_GT(at_end, 0.0);
  EXPECT_DOUBLE_EQ(m.wait().seconds, at_end);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_DOUBLE_EQ(m.progress().seconds, at_end);
  m.finalize();
}

}  // namespace
}  // namespace storage::test
