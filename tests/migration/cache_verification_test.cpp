// Verification of caches: missing, extra and mismatched keys (in value or in
// expiry) reported as such, keys about to expire excused and never brought
// back to life by a repair, and a rerun that repairs. sqlite -> redis and
// memory -> sqlite.
#include <filesystem>

#include "actors/migration/migration.hpp"
#include "actors/migration/migration_verifier.hpp"
#include "migration/cache_pair.hpp"
#include "migration/migration_support.hpp"
#include "runtime/migrate.hpp"

namespace storage::mig {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class cache_verification : public cache_pair {
 protected:
  migration_options options() {
    migration_options o;
    o.batch = 50;
    o.source_name = from_;
    o.target_name = to_;
    return o;
  }
  // key0..key(n-1), no expiry, on `c`.
  static void fill(cache_store& c, int n) {
    std::vector<cache_entry> es;
    for (int i = 0; i < n; ++i)
      es.push_back({"key" + std::to_string(i), "v" + std::to_string(i), {}});
    await(c.mset(es));
  }
  verify_report verify() {
    return verify_cache(rt_->system(), src_->actor(), dst_->actor(), 50,
                        std::chrono::milliseconds(1000), from_, to_);
  }
  migration_result migrate(const migration_options& o) {
    return migrate_cache(rt_->system(), src_->actor(), dst_->actor(), o);
  }
};

TEST_P(cache_verification, each_difference_is_reported_by_kind) {
  fill(*src_, 200);
  fill(*dst_, 200);
  ASSERT_TRUE(verify().passed());
  await(dst_->del({"key7"}));           // missing
  await(dst_->set("intruder", "x"));    // extra
  await(dst_->set("key3", "changed"));  // mismatched value
  await(dst_->expire("key9", 600000));  // mismatched expiry
  // About to expire: no difference on either side.
  await(src_->set("fleeting", "f", 300));
  await(dst_->set("passing", "p", 300));
  auto r = verify();
  EXPECT_EQ(r.missing.count, 1u);
  EXPECT_EQ(r.missing.first, std::vector<std::string>{"key7"});
  EXPECT_EQ(r.extra.count, 1u);
  EXPECT_EQ(r.extra.first, std::vector<std::string>{"intruder"});
  EXPECT_EQ(r.mismatched.count, 2u);
  auto m = r.mismatched.first;
  std::sort(m.begin(), m.end());
  EXPECT_EQ(m, (std::vector<std::string>{"key3", "key9"}));
  try {
    require_verified(r, "the cache");
    ADD_FAILURE() << "expected verification_failed";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::verification_failed);
    EXPECT_TRUE(contains(e.what(),
                         "the cache: 1 missing (key7), 1 extra "
                         "(intruder), 2 mismatched ("))
        << e.what();
  }
}

TEST_P(cache_verification,
       a_failed_run_is_not_completed_and_its_rerun_repairs) {
  fill(*src_, 300);
  await(dst_->set("intruder", "x"));
  auto o = options();
  o.checkpoint_file = dir_ + "/cp.json";
  EXPECT_TRUE(test::fails_with(errc::verification_failed, [&] { migrate(o); }));
  auto doc = nlohmann::json::parse(test::file_text(o.checkpoint_file));
  EXPECT_EQ(doc["entries"][0]["copied_all"], true);
  EXPECT_EQ(doc["entries"][0]["completed"], false);
  await(dst_->del({"key1"}));
  await(dst_->set("key2", "changed", 600000));
  auto second = migrate(o);
  EXPECT_EQ(second.copied, 2u);  // key1 and key2, written again
  EXPECT_EQ(second.repaired, 3u);
  EXPECT_TRUE(second.verified);
  EXPECT_FALSE(await(dst_->exists("intruder")));
  EXPECT_EQ(await(dst_->get("key1")), std::optional<std::string>("v1"));
  EXPECT_EQ(await(dst_->get("key2")), std::optional<std::string>("v2"));
  EXPECT_FALSE(await(dst_->ttl("key2")).ttl.has_value());
  doc = nlohmann::json::parse(test::file_text(o.checkpoint_file));
  EXPECT_EQ(doc["entries"][0]["completed"], true);
  EXPECT_EQ(await(src_->get("key1")), std::optional<std::string>("v1"));

  auto third = migrate(o);
  EXPECT_EQ(third.copied, 0u);
  EXPECT_EQ(third.repaired, 0u);
  EXPECT_TRUE(third.verified);
  EXPECT_EQ(third.target_count, 300u);
}

TEST_P(cache_verification, an_expiring_key_is_not_repaired_back_to_life) {
  fill(*src_, 100);
  auto o = options();
  o.checkpoint_file = dir_ + "/cp.json";
  EXPECT_TRUE(migrate(o).verified);
  // After the copy: a key the source drops within the tolerance, and an
  // extra key that makes the rerun repair.
  await(src_->set("fleeting", "f", 600));
  await(dst_->set("intruder", "x"));
  // After a completed run a rerun only verifies; the one after repairs.
  EXPECT_TRUE(test::fails_with(errc::verification_failed, [&] { migrate(o); }));
  EXPECT_TRUE(await(dst_->exists("intruder")));
  auto r = migrate(o);
  EXPECT_EQ(r.repaired, 1u);  // the intruder only
  EXPECT_TRUE(r.verified);
  EXPECT_FALSE(await(dst_->exists("fleeting")));
  EXPECT_FALSE(await(dst_->exists("intruder")));
}

TEST_P(cache_verification, repair_never_removes_from_the_source) {
  fill(*src_, 50);
  fill(*dst_, 80);  // key50..key79 are extra
  // Without a checkpoint the extras may be the user's own: no repair.
  EXPECT_TRUE(
      test::fails_with(errc::verification_failed, [&] { migrate(options()); }));
  EXPECT_TRUE(await(dst_->exists("key79")));
  auto o = options();
  o.checkpoint_file = dir_ + "/cp.json";
  EXPECT_TRUE(test::fails_with(errc::verification_failed, [&] { migrate(o); }));
  auto r = migrate(o);  // the rerun the checkpoint knows of repairs
  EXPECT_EQ(r.repaired, 30u);
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.source_count, 50u);
  EXPECT_EQ(r.target_count, 50u);
  EXPECT_EQ(await(src_->get("key49")), std::optional<std::string>("v49"));
  EXPECT_FALSE(await(dst_->exists("key50")));
  // verify_stores reports the same shape and changes nothing.
  await(dst_->set("late", "x"));
  std::vector<verification_result> seen;
  EXPECT_TRUE(test::fails_with(errc::verification_failed, [&] {
    verify_stores(*rt_, from_, to_, {}, options(),
                  [&](const verification_result& v) { seen.push_back(v); });
  }));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].collection.empty());
  EXPECT_EQ(seen[0].report.extra.first, std::vector<std::string>{"late"});
  EXPECT_TRUE(await(dst_->exists("late")));
}

const std::vector<direction> directions = {{"sqlite", "redis"},
                                           {"memory", "sqlite"}};

INSTANTIATE_TEST_SUITE_P(all, cache_verification,
                         ::testing::ValuesIn(directions),
                         [](const ::testing::TestParamInfo<direction>& info) {
                           return info.param.from + "_to_" + info.param.to;
                         });

}  // namespace
}  // namespace storage::mig
