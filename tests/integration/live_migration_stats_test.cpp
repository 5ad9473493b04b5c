// A live migration's own traffic (backfill, mirrors, verification) is not
// the store's requests: the batch counters count only what callers sent,
// as the request counters do (messages/store_stats.hpp).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "runtime/runtime.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

std::uint64_t requests_of(const store_stats& s) {
  std::uint64_t n = 0;
  for (auto& o : s.ops) n += o.requests;
  return n;
}

// A migration without callers added no request and no batch.
void expect_nothing_counted(const store_stats& before,
                            const store_stats& after) {
  EXPECT_EQ(requests_of(after), requests_of(before));
  EXPECT_EQ(after.batches, before.batches)
      << "the migration's own batches were counted as the store's";
  EXPECT_EQ(after.batched_requests, before.batched_requests);
}

TEST(live_migration_stats, a_caches_migration_pipelines_are_not_the_callers) {
  runtime rt;
  auto ns = "lstats" + unique_token();
  auto source = "memory://?namespace=" + ns;
  auto cache = rt.open_cache(source);
  std::vector<cache_entry> entries;
  for (int i = 0; i < 3000; ++i)
    entries.push_back({"k" + std::to_string(i), std::string(50, 'v'), {}});
  await(cache.mset(entries));
  auto before = rt.stats(source);

  auto m = rt.migrate_live(source, with_param(redis_uri(), "namespace=" + ns));
  m.wait();
  auto quiet = rt.stats(source);
  expect_nothing_counted(before, quiet);
  m.abort();

  // With callers during a second migration: what the batches carried is
  // at most what the callers sent (the mirrors of their writes not again).
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i)
        await(cache.set("c" + std::to_string(t) + "-" + std::to_string(i % 50),
                        "x"));
    });
  auto again = rt.migrate_live(
      source, with_param(redis_uri(), "namespace=" + ns + "b&pool=2"));
  again.wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  stop = true;
  for (auto& c : callers) c.join();
  auto busy = rt.stats(source);
  EXPECT_GT(busy.batches, quiet.batches) << "callers' pipelines after cutover";
  EXPECT_LE(busy.batched_requests - quiet.batched_requests,
            requests_of(busy) - requests_of(quiet));
  again.finalize();
}

TEST(live_migration_stats, a_vector_migrations_upserts_are_not_grouped_calls) {
  auto dir = fresh_dir();
  runtime rt;
  auto source = "faiss://" + dir + "/src";
  auto vs = rt.open_vector(source);
  await(vs.create_collection({"docs", 4, metric::l2}));
  for (int b = 0; b < 20; ++b) {
    std::vector<vector_record> batch;
    for (int i = 0; i < 100; ++i)
      batch.push_back({"r" + std::to_string(b * 100 + i),
                       {float(b), float(i), 1, 2},
                       {},
                       std::nullopt});
    await(vs.upsert("docs", batch));
  }
  auto before = rt.stats(source);
  auto m = rt.migrate_live(source, "faiss://" + dir + "/dst?pool=2");
  m.wait();
  expect_nothing_counted(before, rt.stats(source));
  m.finalize();
}

}  // namespace
}  // namespace storage::test
