// Where a restarted process finds a migrated store's data when the store
// moved more than once, or its configuration changed what does not move
// data (the journal's serving(), migration_journal.hpp).
#include "live_support.hpp"
#include "support/migration_refusal.hpp"

namespace storage::test {
namespace {

void migrate_and_finalize(runtime& rt, const std::string& from,
                          const std::string& to) {
  auto m = rt.migrate_live(from, to);
  ASSERT_EQ(settle(m), live_state::done) << outcome(m);
  m.finalize();
}

// A -> B, then (configured as B, as the log asked) B -> A: the data is on
// A again, and whichever of the two the configuration names serves it.
TEST(live_journal, a_store_moved_back_opens_where_its_data_is) {
  auto dir = fresh_dir();
  auto a = "sqlite://" + dir + "/a.db";
  auto b = "sqlite://" + dir + "/b.db";
  {
    runtime rt;
    await(rt.open_cache(a).set("k1", "1"));
    migrate_and_finalize(rt, a, b);
  }
  {
    runtime rt;
    auto cs = rt.open_cache(b);
    await(cs.set("k2", "2"));
    migrate_and_finalize(rt, b, a);
    await(cs.set("k3", "3"));  // on A only: the mirroring ended
  }
  for (auto& configured : {a, b, a + "?timeout_ms=20000", b + "?pool=2"}) {
    runtime rt;
    auto cs = rt.open_cache(configured);
    EXPECT_EQ(await(cs.get("k3")), "3") << configured;
    EXPECT_EQ(await(cs.get("k1")), "1") << configured;
  }
}

// A -> B, and a second migration of the store still configured as A (from
// B, where its data is) to C: a configuration naming B opens C too.
TEST(live_journal, a_store_moved_twice_opens_on_the_last_backend) {
  auto dir = fresh_dir();
  auto a = "sqlite://" + dir + "/a.db";
  auto b = "sqlite://" + dir + "/b.db";
  auto c = "sqlite://" + dir + "/c.db";
  {
    runtime rt;
    auto cs = rt.open_cache(a);
    await(cs.set("k1", "1"));
    migrate_and_finalize(rt, a, b);
    migrate_and_finalize(rt, a, c);
    await(cs.set("k2", "2"));  // on C only
  }
  for (auto& configured : {a, b, c, a + "?max_inflight=64"}) {
    runtime rt;
    EXPECT_EQ(await(rt.open_cache(configured).get("k2")), "2") << configured;
  }
}

// Cut over to memory://, and the process ends before finalize: the memory
// store ended with it, so a restarted process serves the source, which
// reverse replication kept current.
TEST(live_journal, a_cutover_to_memory_serves_the_source_after_a_restart) {
  auto dir = fresh_dir();
  auto a = "sqlite://" + dir + "/a.db";
  {
    runtime rt;
    auto cs = rt.open_cache(a);
    await(cs.set("k1", "1"));
    auto m = rt.migrate_live(a, "memory://?namespace=gone");
    ASSERT_EQ(settle(m), live_state::done) << outcome(m);
    await(cs.set("k2", "2"));  // on memory, mirrored back to A
    await(cs.del({"k1"}));
    // The mirror's way back is asynchronous: let it land first.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  runtime rt;
  auto cs = rt.open_cache(a);
  EXPECT_EQ(await(cs.get("k2")), "2");
  EXPECT_EQ(await(cs.get("k1")), std::nullopt);
}

// A -> B cut over in an earlier process: A's configuration opens B, so an
// offline migrate or verify from A to B would compare B with itself (and
// pass). Both are refused, either way round, naming where A is served from
// -- on faiss:// too, where opening A and then B used to meet A in B's
// directory and say `conflict`.
TEST(live_journal, verify_from_a_moved_store_to_its_target_is_refused) {
  auto dir = fresh_dir();
  for (auto [a, b] : std::vector<std::pair<std::string, std::string>>{
           {"sqlite://" + dir + "/a.db", "sqlite://" + dir + "/b.db"},
           {"faiss://" + dir + "/fa", "faiss://" + dir + "/fb"}}) {
    {
      runtime rt;
      if (a.rfind("sqlite", 0) == 0) {
        await(rt.open_cache(a).set("k1", "1"));
      } else {
        auto vs = rt.open_vector(a);
        await(vs.create_collection({"docs", 8, metric::l2}));
        await(vs.upsert("docs", {record_for("r1", "v")}));
      }
      migrate_and_finalize(rt, a, b);
    }
    for (auto [from, to] : {std::pair(a, b), std::pair(b, a)})
      for (auto* op : {"migrate", "verify"}) {
        runtime rt;
        auto e = migration_refusal(rt, op, from, to);
        ASSERT_TRUE(e) << op << " " << from << " -> " << to << " passed";
        EXPECT_EQ(e->code(), errc::invalid_argument) << e->what();
        EXPECT_NE(std::string(e->what()).find("'" + a + "' is served from '" +
                                              b + "'"),
                  std::string::npos)
            << e->what();
      }
  }
}

}  // namespace
}  // namespace storage::test
