// Live verification compares both sides without pausing writes, reports
// what differs by id, and a rerun of the same migration (the journal knows
// the target holds an unfinished copy) repairs it.
#include "live_support.hpp"
#include "support/servers.hpp"

namespace storage::test {
namespace {

std::string message_of(const live_migration& m) {
  try {
    m.wait();
    return "";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::verification_failed) << e.what();
    return e.what();
  }
}

TEST(live_verify, vector_differences_fail_then_a_rerun_repairs_them) {
  auto src = "faiss://" + fresh_dir();
  auto tgt = "faiss://" + fresh_dir();
  std::vector<vector_record> rs;
  for (int i = 0; i < 1200; ++i)
    rs.push_back(record_for("r" + std::to_string(i), "v"));
  {
    // The target already holds the collection: an extra record, and an
    // older version of one the source has.
    runtime other({0, {}, 0, fresh_dir(), {}});
    auto t = other.open_vector(tgt);
    await(t.create_collection({"docs", 8, metric::l2}));
    await(
        t.upsert("docs", {record_for("x1", "stray"), record_for("r7", "old")}));
  }
  runtime rt;
  auto vs = rt.open_vector(src);
  await(vs.create_collection({"docs", 8, metric::l2}));
  await(vs.upsert("docs", rs));
  // The backfill overwrites r7; x1 stays: found by the id-ordered pages.
  auto first = rt.migrate_live(src, tgt);
  EXPECT_EQ(settle(first), live_state::failed);
  auto why = message_of(first);
  EXPECT_NE(why.find("1 extra on the target (x1)"), std::string::npos) << why;
  // The source still serves, unchanged.
  EXPECT_EQ(await(vs.count("docs")), 1200u);
  await(vs.upsert("docs", {record_for("r1", "after-failure")}));

  // The rerun repairs: x1 removed, r1's new value copied.
  auto second = rt.migrate_live(src, tgt);
  ASSERT_EQ(settle(second), live_state::done) << outcome(second);
  auto r = second.wait();
  EXPECT_TRUE(r.verified);
  EXPECT_GE(r.repaired, 1u);
  // The counts are the target's after the repair, x1 gone.
  EXPECT_EQ(r.source_count, 1200u);
  EXPECT_EQ(r.target_count, 1200u);
  auto on_target = scan_all(vs, "docs");  // the handle reads the target now
  EXPECT_EQ(on_target.size(), 1200u);
  EXPECT_FALSE(on_target.count("x1"));
  EXPECT_EQ(on_target["r1"].document,
            std::optional<std::string>("after-failure"));
  second.finalize();
}

// Chroma reads a full-precision double back a unit or two off in the last
// place (118.66666666666667 as 118.66666666666669): live verification
// allows what offline verification allows, in the pages it compares and in
// the re-check of ids written meanwhile, into Chroma and out of it. Before,
// both directions failed with verification_failed.
TEST(live_verify, chromas_rounding_of_doubles_is_no_difference) {
  auto thirds = [](const std::string& id, int i) {
    auto r = record_for(id, "t");
    r.metadata["v"] = (256.0 + i) / 3;
    return r;
  };
  runtime rt;
  auto src = "faiss://" + fresh_dir();
  auto vs = rt.open_vector(src);
  await(vs.create_collection({"docs", 8, metric::l2}));
  std::vector<vector_record> rs;
  for (int i = 0; i < 300; ++i)
    rs.push_back(thirds("r" + std::to_string(i), i));
  await(vs.upsert("docs", rs));
  auto chroma = with_param(chroma_uri(), "database=live" + unique_token());
  for (auto& target : {chroma, "faiss://" + fresh_dir()}) {
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      for (int i = 0; !stop; ++i)
        await(vs.upsert("docs", {thirds("w" + std::to_string(i % 50), i)}));
    });
    auto m = rt.migrate_live(src, target);
    auto state = settle(m);
    stop = true;
    writer.join();
    ASSERT_EQ(state, live_state::done) << target << ": " << outcome(m);
    m.finalize();
  }
}

TEST(live_verify, cache_differences_fail_then_a_rerun_repairs_them) {
  auto src = "sqlite://" + fresh_dir() + "/src.db";
  auto tgt = "sqlite://" + fresh_dir() + "/tgt.db";
  {
    runtime other({0, {}, 0, fresh_dir(), {}});
    await(other.open_cache(tgt).set("stray", "1"));
  }
  runtime rt;
  auto cs = rt.open_cache(src);
  std::vector<cache_entry> es;
  for (int i = 0; i < 500; ++i)
    es.push_back({"k" + std::to_string(i), "v" + std::to_string(i), {}});
  await(cs.mset(es));
  auto first = rt.migrate_live(src, tgt);
  EXPECT_EQ(settle(first), live_state::failed);
  auto why = message_of(first);
  EXPECT_NE(why.find("1 extra on the target (stray)"), std::string::npos)
      << why;
  EXPECT_EQ(await(cs.get("k1")), "v1");

  auto second = rt.migrate_live(src, tgt);
  ASSERT_EQ(settle(second), live_state::done) << outcome(second);
  auto r = second.wait();
  EXPECT_GE(r.repaired, 1u);
  EXPECT_EQ(r.source_count, 500u);
  EXPECT_EQ(r.target_count, 500u);  // after the repair, "stray" gone
  auto now = scan_all(cs);
  EXPECT_EQ(now.size(), 500u);
  EXPECT_FALSE(now.count("stray"));
  second.finalize();
}

}  // namespace
}  // namespace storage::test
