// The supervisor against a real outage: PostgreSQL (the target) stopped in
// the middle of a migration from faiss. Restarted soon, the pipeline retries
// from its checkpoint and finishes; stopped for good, the migration fails
// after its attempts with a clear error and the source is untouched. The
// guard always starts the server again.
#include <atomic>
#include <filesystem>
#include <future>

#include "actors/migration/migration.hpp"
#include "migration/migration_support.hpp"

namespace storage::mig {
namespace {

constexpr std::size_t n_records = 20000;

class supervision : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fresh_dir();
    rt_ = std::make_unique<runtime>();
    src_.emplace(rt_->open_vector("faiss://" + dir_ + "/src"));
    dst_.emplace(rt_->open_vector(test::pgvector_uri()));
    name_ = unique_collection("sup");
    fill(*src_, name_, 8, metric::l2, n_records, 5000);
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

  // Starts the migration on another thread; `done` follows its progress.
  std::future<migration_result> start(migration_options o) {
    // Many small batches: the outage lands mid-run.
    if (o.batch == migration_options{}.batch) o.batch = 50;
    o.source_name = "faiss";
    o.target_name = "pgvector";
    o.checkpoint_file = dir_ + "/cp.json";
    o.on_progress = [this](const migration_progress& p) { done_ = p.done; };
    return std::async(std::launch::async, [this, o] {
      return migrate_collection(rt_->system(), src_->actor(), dst_->actor(),
                                name_, o);
    });
  }

  void wait_for_progress(std::future<migration_result>& f) {
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (done_ < 2000 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    ASSERT_GE(done_.load(), 2000u);
    ASSERT_EQ(f.wait_for(0s), std::future_status::timeout)
        << "the migration ended before the outage";
  }

  std::string dir_, name_;
  std::unique_ptr<runtime> rt_;
  std::optional<vector_store> src_, dst_;
  std::atomic<std::uint64_t> done_{0};
};

TEST_F(supervision, a_target_outage_is_retried_and_the_migration_finishes) {
  server_guard pg("postgres");
  migration_options o;
  o.max_attempts = 12;
  o.backoff = 200ms;
  // Smaller still: into a table without its index (built after the copy)
  // batches of 50 finish before PostgreSQL has shut down.
  o.batch = 5;
  auto f = start(o);
  wait_for_progress(f);
  pg.stop();
  auto at_stop = done_.load();
  std::this_thread::sleep_for(1s);
  pg.start();
  ASSERT_EQ(f.wait_for(180s), std::future_status::ready);
  auto r = f.get();
  EXPECT_LT(at_stop, n_records);
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.target_count, n_records);
  EXPECT_GE(r.copied, n_records);  // a replayed batch may count twice
  EXPECT_LE(r.copied, n_records + 50);
}

TEST_F(supervision, a_target_down_for_good_fails_after_its_attempts) {
  server_guard pg("postgres");
  migration_options o;
  o.max_attempts = 3;
  o.backoff = 100ms;
  auto f = start(o);
  wait_for_progress(f);
  pg.stop();
  ASSERT_EQ(f.wait_for(120s), std::future_status::ready);
  try {
    f.get();
    ADD_FAILURE() << "expected the migration to fail";
  } catch (const store_error& e) {
    EXPECT_TRUE(e.code() == errc::backend_unavailable ||
                e.code() == errc::timeout)
        << e.what();
    std::string what = e.what();
    EXPECT_NE(what.find("failed after 4 attempts"), std::string::npos) << what;
    EXPECT_NE(what.find(name_), std::string::npos) << what;
  }
  // The source is untouched: every record as it was written.
  EXPECT_EQ(await(src_->count(name_)), n_records);
  auto got = await(src_->get(name_, {"rec-0000000", "rec-0019999"}));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], make_record(0, 8));
  EXPECT_EQ(got[1], make_record(19999, 8));
  pg.start();
  // The checkpoint kept what the target acknowledged before the outage.
  auto e = checkpoint_entry_of(dir_ + "/cp.json", name_);
  EXPECT_GE(e["copied"].get<std::uint64_t>(), 2000u);
  EXPECT_EQ(e["completed"], false);
}

}  // namespace
}  // namespace storage::mig
