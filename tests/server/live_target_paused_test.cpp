// A live migration whose target freezes (SIGSTOP) mid-backfill: the
// migration fails and the source stays authoritative; the store's callers,
// held a moment by the lag bound, go on without an error and lose nothing
// (live_migration.hpp: "callers never see an error caused by the
// migration").
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/live_migration.hpp"
#include "runtime/runtime.hpp"
#include "server_support.hpp"

namespace storage::srv {
namespace {

using namespace storage::test;

bool ended(live_state s) {
  return s == live_state::done || s == live_state::failed ||
         s == live_state::aborted;
}

TEST(ServerPaused, AFrozenMigrationTargetFailsTheMigrationNotTheCallers) {
  runtime rt;
  auto dir = fresh_dir();
  // The callers' deadline is shorter than the target's (10 s): waiting for
  // the target until it times out would cost them theirs.
  auto source = "sqlite://" + dir + "/src.db?timeout_ms=4000";
  auto cache = rt.open_cache(source);
  for (int b = 0; b < 20; ++b) {
    std::vector<cache_entry> batch;
    for (int i = 0; i < 1000; ++i)
      batch.push_back({"old" + std::to_string(b * 1000 + i), "x", {}});
    await(cache.mset(batch));
  }
  auto target = with_param(redis_uri(), "namespace=stall" + unique_token());
  auto m = rt.migrate_live(source, target);
  while (m.state() == live_state::dual_write)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  int errors = 0, written = 0;
  {
    frozen stop(redis_pid());
    // Frozen longer than the callers' deadline.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < until) {
      try {
        await(cache.set("w" + std::to_string(written), "v"));
        ++written;
      } catch (const store_error& e) {
        ++errors;
        ADD_FAILURE() << "a caller saw the migration's failure: " << e.what();
        if (errors > 3) break;
      }
    }
  }
  // The store went on at once; the migration's own thread hears of the
  // failure when its backfill request to the target ends (the target's
  // deadline, 10 s).
  for (int i = 0; i < 2000 && !ended(m.state()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(m.state(), live_state::failed);
  try {
    m.wait();
    ADD_FAILURE() << "the migration to a frozen target succeeded";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::timeout) << e.what();
  }
  // Every acknowledged write is on the source, which still serves.
  ASSERT_GT(written, 0);
  for (int i = 0; i < written; i += std::max(1, written / 50))
    EXPECT_EQ(await(cache.get("w" + std::to_string(i))), "v") << i;
  EXPECT_EQ(await(cache.get("old19999")), "x");
  await(cache.set("after", "1"));
  EXPECT_EQ(await(cache.get("after")), "1");
}

}  // namespace
}  // namespace storage::srv
