// A migration onto pgvector that creates the collection loads the rows
// first and builds the HNSW index after the copy; the index is there when
// the migration returns, and searches use it. A run that stopped between
// the copy and the build (its checkpoint says copied_all) leaves the rows
// without an index; its rerun builds it. Real servers, no skips.
#include <filesystem>

#include "actors/migration/checkpoint_file.hpp"
#include "actors/migration/migration.hpp"
#include "adapters/pgvector_index_probe.hpp"
#include "migration/migration_support.hpp"
#include "runtime/migrate.hpp"

namespace storage::mig {
namespace {

constexpr std::size_t n_records = 1500;
constexpr std::uint32_t dim = 16;

class pgvector_bulk_migration : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fresh_dir();
    from_uri_ = "faiss://" + dir_ + "/src";
    // Every search through the index, so a missing one would show.
    to_uri_ = test::pgvector_uri() + "?exact_below=0";
    rt_ = std::make_unique<runtime>();
    src_.emplace(rt_->open_vector(from_uri_));
    dst_.emplace(rt_->open_vector(to_uri_));
    name_ = unique_collection("bulk");
  }
  void TearDown() override {
    try {
      await(dst_->drop_collection(name_));
    } catch (const std::exception&) {
      // Best effort: the test already reported any failure.
    }
    src_.reset();
    dst_.reset();
    rt_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  migration_options options() {
    migration_options o;
    o.batch = 200;
    o.source_name = from_uri_;
    o.target_name = to_uri_;
    return o;
  }

  migration_result migrate(const migration_options& o) {
    return migrate_collection(rt_->system(), src_->actor(), dst_->actor(),
                              name_, o);
  }

  // The target's nearest record to record i's embedding is record i.
  void expect_search_finds(std::size_t i) {
    search_request q;
    q.query = make_record(i, dim).embedding;
    q.k = 5;
    auto hits = await(dst_->search(name_, q));
    ASSERT_EQ(hits.size(), 5u);
    EXPECT_EQ(hits[0].id, make_record(i, dim).id);
    EXPECT_NEAR(hits[0].distance, 0.0, 1e-5);
  }

  std::string dir_, from_uri_, to_uri_, name_;
  std::unique_ptr<runtime> rt_;
  std::optional<vector_store> src_, dst_;
};

TEST_F(pgvector_bulk_migration,
       a_created_collection_gets_its_index_after_the_copy) {
  fill(*src_, name_, dim, metric::l2, n_records);
  auto r = migrate(options());
  EXPECT_EQ(r.copied, n_records);
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.target_count, n_records);
  EXPECT_GT(r.index_seconds, 0.0);
  EXPECT_LE(r.index_seconds, r.seconds);
  EXPECT_EQ(pgtest::hnsw_indexes(name_), 1);
  // make_record repeats its embeddings every 1000 records: these have no twin.
  for (std::size_t i : {500u, 777u, 999u}) expect_search_finds(i);
}

TEST_F(pgvector_bulk_migration, a_rerun_builds_the_index_a_stopped_run_left) {
  fill(*src_, name_, dim, metric::l2, n_records);
  // The state a run killed right after its copy leaves: every row, no
  // index, a checkpoint saying copied_all.
  collection_spec spec{name_, dim, metric::l2};
  spec.defer_index = true;
  EXPECT_TRUE(await(dst_->create_collection(spec)));
  for (std::size_t start = 0; start < n_records; start += 500) {
    std::vector<vector_record> rs;
    for (std::size_t i = start; i < start + 500; ++i)
      rs.push_back(make_record(i, dim));
    await(dst_->upsert(name_, std::move(rs)));
  }
  auto cp = dir_ + "/checkpoint.json";
  auto o = options();
  o.checkpoint_file = cp;
  checkpoint_file::open(cp, from_uri_, to_uri_)
      .put(name_, checkpoint_entry{"", n_records, true, false});
  ASSERT_EQ(pgtest::hnsw_indexes(name_), 0);

  auto r = migrate(o);
  EXPECT_EQ(r.copied, 0u);  // nothing left to copy
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(pgtest::hnsw_indexes(name_), 1);
  EXPECT_EQ(checkpoint_entry_of(cp, name_)["completed"], true);
  expect_search_finds(654);
}

// The index build is the migration's own work, on a connection of its own
// (runtime/migrate.hpp), not a request bound by the target's timeout_ms:
// a build longer than that deadline completes.
TEST_F(pgvector_bulk_migration, the_build_may_outlast_the_targets_deadline) {
  constexpr std::uint32_t wide = 64;
  constexpr std::size_t many = 8000;
  fill(*src_, name_, wide, metric::l2, many);
  auto to = to_uri_ + "&timeout_ms=100";
  auto o = options();
  o.target_name = to;
  std::vector<migration_result> results;
  migrate_stores(*rt_, from_uri_, to, {name_}, o,
                 [&](const migration_result& r) { results.push_back(r); });
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].verified);
  EXPECT_EQ(results[0].target_count, many);
  // Otherwise the test proves nothing: the build took longer than 100 ms.
  EXPECT_GT(results[0].index_seconds, 0.1);
  EXPECT_EQ(pgtest::hnsw_indexes(name_), 1);
}

// A target collection that already has its index keeps it (one index, not
// two), and the migration into it still verifies.
TEST_F(pgvector_bulk_migration,
       an_existing_indexed_collection_keeps_its_index) {
  fill(*src_, name_, dim, metric::l2, 300);
  EXPECT_TRUE(await(dst_->create_collection({name_, dim, metric::l2})));
  ASSERT_EQ(pgtest::hnsw_indexes(name_), 1);
  auto r = migrate(options());
  EXPECT_EQ(r.copied, 300u);
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(pgtest::hnsw_indexes(name_), 1);
  expect_search_finds(17);
}

}  // namespace
}  // namespace storage::mig
