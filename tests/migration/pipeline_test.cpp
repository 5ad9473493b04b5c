// The pipeline's own rules on embedded faiss stores: transform, restart
// after a crashed stage, resume from a checkpoint, rerun of a completed
// migration, verification failures, and the runtime-level helper's checks.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <sys/wait.h>
#include <unistd.h>

#include "actors/migration/migration.hpp"
#include "migration/migration_support.hpp"
#include "runtime/migrate.hpp"

namespace storage::mig {
namespace {

class pipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fresh_dir();
    from_ = "faiss://" + dir_ + "/src";
    to_ = "faiss://" + dir_ + "/dst";
    rt_ = std::make_unique<runtime>();
    src_.emplace(rt_->open_vector(from_));
    dst_.emplace(rt_->open_vector(to_));
    cp_ = dir_ + "/checkpoint.json";
  }
  void TearDown() override {
    src_.reset();
    dst_.reset();
    rt_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  migration_options options() {
    migration_options o;
    o.batch = 250;
    o.backoff = 10ms;
    o.source_name = from_;
    o.target_name = to_;
    return o;
  }
  migration_result migrate(const std::string& c, const migration_options& o) {
    return migrate_collection(rt_->system(), src_->actor(), dst_->actor(), c,
                              o);
  }

  std::string dir_, from_, to_, cp_;
  std::unique_ptr<runtime> rt_;
  std::optional<vector_store> src_, dst_;
};

TEST_F(pipeline, transform_maps_and_drops_records) {
  fill(*src_, "docs", 4, metric::l2, 1000);
  auto o = options();
  o.transform = [](vector_record r) -> std::optional<vector_record> {
    if (r.id.back() == '7') return std::nullopt;
    r.metadata["migrated"] = true;
    return r;
  };
  o.verify = false;  // the target differs from the source on purpose
  auto r = migrate("docs", o);
  EXPECT_EQ(r.copied, 900u);
  EXPECT_EQ(r.target_count, 900u);
  EXPECT_FALSE(r.verified);
  auto got = await(dst_->get("docs", {"rec-0000001", "rec-0000007"}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(std::get<bool>(got[0].metadata.at("migrated")), true);
}

TEST_F(pipeline, a_crashed_stage_restarts_from_the_checkpoint) {
  fill(*src_, "docs", 4, metric::l2, 2000);
  auto o = options();
  o.checkpoint_file = cp_;
  // One batch at a time: the crash meets an acknowledged checkpoint.
  o.in_flight = 1;
  std::atomic<int> crashes{0};
  o.transform = [&](vector_record r) -> std::optional<vector_record> {
    if (r.id == "rec-0001100" && crashes++ == 0)
      throw std::runtime_error("transform crashed once");
    return r;
  };
  auto r = migrate("docs", o);
  EXPECT_EQ(crashes.load(), 2);  // crashed, then passed after the restart
  EXPECT_EQ(r.copied, 2000u);    // nothing written twice: replay from 1000
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.target_count, 2000u);
}

TEST_F(pipeline, resumes_from_the_checkpoint_then_only_verifies) {
  fill(*src_, "docs", 4, metric::l2, 2000);
  auto o = options();
  o.checkpoint_file = cp_;
  o.max_attempts = 1;
  o.in_flight = 1;  // so the failing batch comes after 1000 acknowledged
  o.transform = [](vector_record r) -> std::optional<vector_record> {
    if (r.id >= "rec-0001000") throw store_error(errc::timeout, "stuck");
    return r;
  };
  // Fails after its attempts with the stage's error code, naming them.
  try {
    migrate("docs", o);
    ADD_FAILURE() << "expected the migration to fail";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::timeout);
    EXPECT_NE(std::string(e.what()).find("after 2 attempts"), std::string::npos)
        << e.what();
  }
  auto entry = checkpoint_entry_of(cp_, "docs");
  ASSERT_FALSE(entry.is_null());
  EXPECT_EQ(entry["copied"], 1000);
  EXPECT_EQ(entry["cursor"], "rec-0000999");
  EXPECT_EQ(entry["completed"], false);

  o.transform = nullptr;
  auto second = migrate("docs", o);
  EXPECT_EQ(second.copied, 1000u);  // only what was left
  EXPECT_TRUE(second.verified);
  EXPECT_EQ(second.target_count, 2000u);
  entry = checkpoint_entry_of(cp_, "docs");
  EXPECT_EQ(entry["completed"], true);
  EXPECT_EQ(entry["copied"], 2000);

  auto third = migrate("docs", o);
  EXPECT_EQ(third.copied, 0u);
  EXPECT_TRUE(third.verified);
  EXPECT_EQ(third.source_count, 2000u);
  EXPECT_EQ(third.target_count, 2000u);
}

TEST_F(pipeline, a_checkpoint_of_other_stores_is_refused) {
  fill(*src_, "docs", 4, metric::l2, 10);
  auto o = options();
  o.checkpoint_file = cp_;
  migrate("docs", o);
  o.target_name = "faiss://elsewhere";
  EXPECT_TRUE(
      test::fails_with(errc::invalid_argument, [&] { migrate("docs", o); }));
}

// A run killed mid-save leaves `<file>.tmp.<pid>`; the next run removes
// it, but not the file of a process that is still alive.
TEST_F(pipeline, a_killed_runs_temporary_checkpoint_is_removed) {
  fill(*src_, "docs", 4, metric::l2, 10);
  pid_t dead = ::fork();
  ASSERT_GE(dead, 0);
  if (dead == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);
  auto left = cp_ + ".tmp." + std::to_string(dead);
  auto alive = cp_ + ".tmp.1";  // init never goes away
  auto other = dir_ + "/other.json.tmp." + std::to_string(dead);
  for (auto& p : {left, alive, other}) std::ofstream(p) << "{";
  auto o = options();
  o.checkpoint_file = cp_;
  EXPECT_EQ(migrate("docs", o).copied, 10u);
  EXPECT_FALSE(std::filesystem::exists(left));
  EXPECT_TRUE(std::filesystem::exists(alive));
  EXPECT_TRUE(std::filesystem::exists(other));
  EXPECT_TRUE(std::filesystem::exists(cp_));
}

TEST_F(pipeline, verification_names_differing_ids) {
  fill(*src_, "docs", 4, metric::l2, 100);
  fill(*dst_, "docs", 4, metric::l2, 0);
  auto extra = make_record(5000, 4);
  await(dst_->upsert("docs", {extra}));
  // A first run (its checkpoint has no entry yet) reports, never repairs.
  auto o = options();
  o.checkpoint_file = cp_;
  try {
    migrate("docs", o);
    ADD_FAILURE() << "expected verification_failed";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::verification_failed);
    EXPECT_NE(
        std::string(e.what()).find("collection 'docs': 1 extra (rec-0005000)"),
        std::string::npos)
        << e.what();
  }
  EXPECT_EQ(await(dst_->count("docs")), 101u);
}

TEST_F(pipeline, a_missing_collection_is_collection_not_found) {
  EXPECT_TRUE(test::fails_with(errc::collection_not_found,
                               [&] { migrate("nothere", options()); }));
  EXPECT_TRUE(await(dst_->list_collections()).empty());
}

TEST_F(pipeline, stores_of_different_kinds_are_invalid_argument) {
  auto results = 0;
  EXPECT_TRUE(test::fails_with(errc::invalid_argument, [&] {
    migrate_stores(*rt_, from_, "memory://?namespace=x", {}, options(),
                   [&](const migration_result&) { ++results; });
  }));
  EXPECT_TRUE(test::fails_with(errc::invalid_argument, [&] {
    migrate_stores(*rt_, from_, from_, {}, options(),
                   [&](const migration_result&) { ++results; });
  }));
  EXPECT_EQ(results, 0);
}

TEST_F(pipeline, every_collection_when_none_is_named) {
  fill(*src_, "alpha", 4, metric::l2, 300);
  fill(*src_, "beta", 8, metric::cosine, 700);
  auto o = options();
  o.checkpoint_file = cp_;
  std::vector<migration_result> results;
  migrate_stores(*rt_, from_, to_, {}, o,
                 [&](const migration_result& r) { results.push_back(r); });
  ASSERT_EQ(results.size(), 2u);
  std::sort(results.begin(), results.end(),
            [](auto& a, auto& b) { return a.collection < b.collection; });
  EXPECT_EQ(results[0].collection, "alpha");
  EXPECT_EQ(results[0].copied, 300u);
  EXPECT_EQ(results[1].collection, "beta");
  EXPECT_EQ(results[1].copied, 700u);
  // One file, one entry per collection.
  EXPECT_EQ(checkpoint_entry_of(cp_, "alpha")["completed"], true);
  EXPECT_EQ(checkpoint_entry_of(cp_, "beta")["copied"], 700);
}

TEST_F(pipeline, a_whole_store_fails_on_a_collection_only_the_target_has) {
  fill(*src_, "alpha", 4, metric::l2, 30);
  fill(*dst_, "gamma", 4, metric::l2, 2);
  std::vector<migration_result> results;
  auto with_checkpoint = options();
  with_checkpoint.checkpoint_file = cp_;
  try {
    migrate_stores(*rt_, from_, to_, {}, with_checkpoint,
                   [&](const migration_result& r) { results.push_back(r); });
    ADD_FAILURE() << "expected verification_failed";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::verification_failed);
    EXPECT_NE(std::string(e.what()).find(
                  "collection 'gamma' does not exist on the source: 2 extra "
                  "(rec-0000000, rec-0000001)"),
              std::string::npos)
        << e.what();
  }
  // alpha was copied and verified; gamma is reported, never dropped.
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].verified);
  EXPECT_EQ(await(dst_->count("gamma")), 2u);
  // The store failed verification, so the checkpoint does not record
  // completion (a rerun compares alpha again rather than trusting it).
  EXPECT_EQ(checkpoint_entry_of(cp_, "alpha")["completed"], false);
  EXPECT_EQ(checkpoint_entry_of(cp_, "alpha")["copied_all"], true);
  EXPECT_THROW(migrate_stores(*rt_, from_, to_, {}, with_checkpoint,
                              [](const migration_result&) {}),
               store_error);
  EXPECT_EQ(checkpoint_entry_of(cp_, "alpha")["completed"], false);
  // Named collections are compared alone.
  results.clear();
  migrate_stores(*rt_, from_, to_, {"alpha"}, options(),
                 [&](const migration_result& r) { results.push_back(r); });
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].copied, 30u);
}

TEST_F(pipeline, without_verification_completion_waits_for_a_verifying_run) {
  fill(*src_, "docs", 4, metric::l2, 500);
  auto o = options();
  o.checkpoint_file = cp_;
  o.verify = false;
  auto first = migrate("docs", o);
  EXPECT_EQ(first.copied, 500u);
  auto entry = checkpoint_entry_of(cp_, "docs");
  EXPECT_EQ(entry["copied_all"], true);
  EXPECT_EQ(entry["completed"], false);
  o.verify = true;
  auto second = migrate("docs", o);
  EXPECT_EQ(second.copied, 0u);
  EXPECT_TRUE(second.verified);
  EXPECT_EQ(checkpoint_entry_of(cp_, "docs")["completed"], true);
}

TEST_F(pipeline, an_old_checkpoint_marked_completed_copies_nothing) {
  fill(*src_, "docs", 4, metric::l2, 40);
  migrate("docs", options());
  // As files were written before "copied_all" existed.
  std::ofstream(cp_) << nlohmann::json{{"format", 1},
                                       {"source", from_},
                                       {"target", to_},
                                       {"entries",
                                        {{{"collection", "docs"},
                                          {"cursor", ""},
                                          {"cursor_hex", ""},
                                          {"copied", 40},
                                          {"completed", true}}}}}
                            .dump();
  auto o = options();
  o.checkpoint_file = cp_;
  auto r = migrate("docs", o);
  EXPECT_EQ(r.copied, 0u);
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(checkpoint_entry_of(cp_, "docs")["completed"], true);
}

TEST_F(pipeline, progress_reports_reach_the_total) {
  fill(*src_, "docs", 4, metric::l2, 1200);
  auto o = options();
  std::vector<migration_progress> seen;
  std::mutex mtx;
  o.on_progress = [&](const migration_progress& p) {
    std::lock_guard<std::mutex> g(mtx);
    seen.push_back(p);
  };
  migrate("docs", o);
  std::lock_guard<std::mutex> g(mtx);
  ASSERT_GE(seen.size(), 2u);  // the start and the end at least
  EXPECT_EQ(seen.front().done, 0u);
  EXPECT_EQ(seen.back().done, 1200u);
  EXPECT_EQ(seen.back().total, 1200u);
  EXPECT_EQ(seen.back().collection, "docs");
}

}  // namespace
}  // namespace storage::mig
