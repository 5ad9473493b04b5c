// Live migration of a vector store, faiss:// -> pgvector, under concurrent
// writes, deletes and reads, repeated with different timing.
#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "adapters/pgvector_index_probe.hpp"
#include "vector_round.hpp"

namespace storage::test {
namespace {

class vector_live : public ::testing::TestWithParam<int> {};

TEST_P(vector_live, no_lost_write_no_resurrected_delete_no_caller_error) {
  vector_round(static_cast<unsigned>(GetParam()) * 7919u + 17u);
}

INSTANTIATE_TEST_SUITE_P(runs, vector_live, ::testing::Range(0, 20));

// After cutover the source receives every write back; an abort with traffic
// running switches the store back to it without losing one.
class vector_live_abort : public ::testing::TestWithParam<int> {};

TEST_P(vector_live_abort, abort_after_cutover_keeps_every_write_on_the_source) {
  round_size size;
  size.after = std::chrono::milliseconds(200);
  size.abort_after_cutover = true;
  vector_round(static_cast<unsigned>(GetParam()) * 6151u + 5u, size);
}

INSTANTIATE_TEST_SUITE_P(runs, vector_live_abort, ::testing::Range(0, 5));

// Collections created, dropped and filtered by a delete-where while the
// migration runs follow it to the target; with one target connection and
// with four, where a whole-collection operation must not overtake a keyed
// write mirrored before it on another connection, nor be overtaken by one
// mirrored after it (mirrors keep to one connection at a time; spreading
// them by id without a barrier failed this test).
class vector_live_collections : public ::testing::TestWithParam<int> {};

TEST_P(vector_live_collections, created_dropped_and_filtered_during_migration) {
  runtime rt;
  auto src = "faiss://" + fresh_dir();
  auto tgt = with_param(pgvector_uri(), "pool=" + std::to_string(GetParam()));
  auto vs = rt.open_vector(src);
  auto keep = "live_keep_" + unique_token();
  auto gone = "live_gone_" + unique_token();
  auto born = "live_born_" + unique_token();
  auto churn = "live_churn_" + unique_token();
  await(vs.create_collection({keep, 8, metric::l2}));
  await(vs.create_collection({gone, 8, metric::l2}));
  await(vs.create_collection({churn, 8, metric::l2}));
  std::vector<vector_record> rs;
  // 1000: verification pages (500) end exactly at the end of the data.
  for (int i = 0; i < 1000; ++i)
    rs.push_back(record_for("k" + std::to_string(i), "t" + std::to_string(i)));
  await(vs.upsert(keep, rs));
  await(vs.upsert(gone, rs));

  live_options opts;
  opts.batch = 50;
  auto m = rt.migrate_live(src, tgt, opts);
  // Both sides of the filter are written during the migration, maybe before
  // the backfill reads them, maybe after.
  auto where = filter::eq("n", std::int64_t{3});
  await(vs.remove_where(keep, where));
  await(vs.drop_collection(gone));
  await(vs.create_collection({born, 8, metric::ip}));
  await(vs.upsert(born, {record_for("b1", "born")}));
  // Keyed writes on both sides of drops and creates, sent without waiting:
  // their mirrors meet in the same rounds. Only the last round's records
  // belong in `churn` at the end.
  constexpr int rounds = 30, per_round = 8;
  auto churn_id = [](int round, int i) {
    return "c" + std::to_string(round * per_round + i);
  };
  std::vector<std::future<std::uint64_t>> writes;
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < per_round; ++i)
      writes.push_back(vs.upsert(churn, {record_for(churn_id(round, i), "c")}));
    if (round + 1 < rounds) {
      await(vs.drop_collection(churn));
      await(vs.create_collection({churn, 8, metric::l2}));
    }
  }
  for (auto& w : writes) w.get();
  ASSERT_EQ(settle(m), live_state::done) << outcome(m);

  runtime direct;
  auto pg = direct.open_vector(pgvector_uri());
  auto kept = scan_all(pg, keep);
  std::size_t expected = 0;
  for (auto& r : rs) {
    bool matches = where.matches(r.metadata);
    expected += matches ? 0 : 1;
    EXPECT_EQ(kept.count(r.id), matches ? 0u : 1u) << r.id;
  }
  EXPECT_EQ(kept.size(), expected);
  std::set<std::string> names;
  for (auto& s : await(pg.list_collections())) names.insert(s.name);
  EXPECT_FALSE(names.count(gone));
  ASSERT_TRUE(names.count(born));
  EXPECT_EQ(await(pg.count(born)), 1u);
  std::set<std::string> churned;
  for (auto& [id, r] : scan_all(pg, churn)) churned.insert(id);
  std::set<std::string> last;
  for (int i = 0; i < per_round; ++i) last.insert(churn_id(rounds - 1, i));
  EXPECT_EQ(churned, last);
  m.finalize();
  await(vs.drop_collection(keep));
  await(vs.drop_collection(born));
  await(vs.drop_collection(churn));
}

INSTANTIATE_TEST_SUITE_P(target_pool, vector_live_collections,
                         ::testing::Values(1, 4));

// Creates the 8-d collection `name` on `vs` holding records r0..r{n-1},
// written in batches of 2000; returns them.
std::vector<vector_record> load(vector_store& vs, const std::string& name,
                                int n) {
  await(vs.create_collection({name, 8, metric::l2}));
  std::vector<vector_record> rs;
  for (int i = 0; i < n; ++i)
    rs.push_back(record_for("r" + std::to_string(i), "t" + std::to_string(i)));
  for (std::size_t i = 0; i < rs.size(); i += 2000)
    await(vs.upsert(
        name, {rs.begin() + i, rs.begin() + std::min(rs.size(), i + 2000)}));
  return rs;
}

// A faiss:// store of its own per test, the source the index tests migrate
// to pgvector.
class vector_live_index : public ::testing::Test {
 protected:
  runtime rt;
  std::string src = "faiss://" + fresh_dir();
  vector_store vs = rt.open_vector(src);
};

// A collection the migration creates on pgvector is loaded first and gets
// its HNSW index after the backfill, built while callers keep writing: the
// index is there and valid when the migration is done, and searches through
// it find what was written before and during the migration.
TEST_F(vector_live_index, the_target_index_is_built_after_the_backfill) {
  auto name = "live_index_" + unique_token();
  auto rs = load(vs, name, 3000);
  ASSERT_EQ(pgtest::hnsw_indexes(name), -1);

  auto m = rt.migrate_live(src, pgvector_uri());
  std::atomic<bool> stop{false};
  std::vector<vector_record> written;
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      auto r = record_for("w" + std::to_string(i), "w" + std::to_string(i));
      await(vs.upsert(name, {r}));
      written.push_back(r);
    }
  });
  auto end = settle(m);
  stop = true;
  writer.join();
  ASSERT_EQ(end, live_state::done) << outcome(m);
  EXPECT_EQ(pgtest::hnsw_indexes(name), 1);
  EXPECT_EQ(pgtest::valid_hnsw_indexes(name), 1);

  runtime direct;
  auto pg = direct.open_vector(with_param(pgvector_uri(), "exact_below=0"));
  EXPECT_EQ(await(pg.count(name)), rs.size() + written.size());
  auto probe = [&](const vector_record& r) {
    search_request q;
    q.query = r.embedding;
    q.k = 1;
    auto hits = await(pg.search(name, q));
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].id, r.id);
  };
  probe(rs[1234]);
  ASSERT_FALSE(written.empty());
  probe(written.back());
  m.finalize();
  await(vs.drop_collection(name));
}

// The build runs on a connection of its own, not on the one that carries the
// mirrors: callers' writes are acknowledged while it runs. A build on the
// mirrors' connection lets at most the mirror backlog bound (16) through
// before the router holds every write until the build ends.
TEST_F(vector_live_index, writes_are_acknowledged_while_the_index_is_built) {
  auto name = "live_build_" + unique_token();
  load(vs, name, 10000);

  auto m = rt.migrate_live(src, pgvector_uri());
  std::atomic<bool> stop{false};
  std::atomic<int> acks{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      await(vs.upsert(name, {record_for("w" + std::to_string(i), "w")}));
      ++acks;
    }
  });
  // Acknowledged writes from the first sight of the build to the last.
  int seen = 0, first = 0, last = 0;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (m.state() != live_state::done && m.state() != live_state::failed &&
         std::chrono::steady_clock::now() < give_up) {
    if (pgtest::index_build_running(name)) {
      int now = acks;
      if (seen++ == 0) first = now;
      last = now;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  writer.join();
  ASSERT_EQ(m.state(), live_state::done) << outcome(m);
  ASSERT_GE(seen, 2) << "the build was not seen running";
  EXPECT_GE(last - first, 100) << "writes were held while the index was built";
  EXPECT_EQ(pgtest::valid_hnsw_indexes(name), 1);
  m.finalize();
  await(vs.drop_collection(name));
}

// An abort while the target's index is built cancels the build on the
// server instead of waiting for it (minutes on a large collection): when
// abort() returns no build runs and the target table has no valid index,
// where a build left to finish would have made one. The next build drops
// the invalid index and builds.
TEST_F(vector_live_index, an_abort_cancels_the_build) {
  auto name = "live_cancel_" + unique_token();
  load(vs, name, 30000);

  auto m = rt.migrate_live(src, pgvector_uri());
  bool seen = false;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (!seen && m.state() != live_state::done &&
         m.state() != live_state::failed &&
         std::chrono::steady_clock::now() < give_up) {
    seen = pgtest::index_build_running(name);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(seen) << "the build was not seen running: " << outcome(m);
  m.abort();
  EXPECT_EQ(m.state(), live_state::aborted);
  EXPECT_FALSE(pgtest::index_build_running(name));
  EXPECT_EQ(pgtest::valid_hnsw_indexes(name), 0);
  EXPECT_EQ(await(vs.count(name)), 30000u);

  runtime direct;
  auto pg = direct.open_vector(pgvector_uri());
  EXPECT_FALSE(await(pg.create_collection({name, 8, metric::l2})));
  EXPECT_EQ(pgtest::hnsw_indexes(name), 1);
  EXPECT_EQ(pgtest::valid_hnsw_indexes(name), 1);
  await(pg.drop_collection(name));
  await(vs.drop_collection(name));
}

}  // namespace
}  // namespace storage::test
