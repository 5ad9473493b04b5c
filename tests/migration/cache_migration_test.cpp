// Offline migration of a cache among memory, sqlite and redis, in one
// runtime (memory:// lives in the process, so it is reachable only through
// the C++ API, not through a second storectl process).
#include <filesystem>

#include "actors/migration/migration.hpp"
#include "migration/cache_pair.hpp"
#include "migration/migration_support.hpp"
#include "runtime/migrate.hpp"

namespace storage::mig {
namespace {

constexpr int plain_keys = 1500;
constexpr int ttl_keys = 300;
constexpr std::int64_t long_ttl = 60000;

class cache_migration : public cache_pair {
 protected:
  void fill_source() {
    std::vector<cache_entry> batch;
    for (int i = 0; i < plain_keys; ++i)
      batch.push_back({"k" + std::to_string(i), "value " + std::to_string(i),
                       std::nullopt});
    for (int i = 0; i < ttl_keys; ++i)
      batch.push_back(
          {"t" + std::to_string(i), "timed " + std::to_string(i), long_ttl});
    // Already gone when the migration starts: never copied.
    for (int i = 0; i < 5; ++i)
      batch.push_back({"gone" + std::to_string(i), "x", 1});
    await(src_->mset(batch));
    std::this_thread::sleep_for(50ms);
  }
};

TEST_P(cache_migration, copies_live_keys_with_their_expiry) {
  fill_source();
  migration_options o;
  o.batch = 200;
  o.source_name = from_;
  o.target_name = to_;
  auto r = migrate_cache(rt_->system(), src_->actor(), dst_->actor(), o);
  EXPECT_TRUE(r.collection.empty());
  std::uint64_t live = plain_keys + ttl_keys;
  if (GetParam().from == "redis") {
    // SCAN may return a key twice when another client makes the shared
    // database rehash meanwhile: written twice, harmless, counted twice.
    EXPECT_GE(r.copied, live);
    EXPECT_LE(r.copied, live + 200);
  } else {
    EXPECT_EQ(r.copied, live);
  }
  EXPECT_EQ(r.source_count, static_cast<std::uint64_t>(plain_keys + ttl_keys));
  EXPECT_EQ(r.target_count, r.source_count);
  EXPECT_TRUE(r.verified);

  for (auto key : {"k0", "k777", "k1499", "t0", "t299"})
    EXPECT_EQ(await(dst_->get(key)), await(src_->get(key))) << key;
  EXPECT_FALSE(await(dst_->exists("gone0")));
  // No expiry stays none; an expiry stays where it was, in absolute time.
  EXPECT_FALSE(await(dst_->ttl("k3")).ttl.has_value());
  auto src_ttl = await(src_->ttl("t7"));
  auto dst_ttl = await(dst_->ttl("t7"));
  ASSERT_TRUE(src_ttl.ttl && dst_ttl.ttl);
  EXPECT_LE(std::llabs(*src_ttl.ttl - *dst_ttl.ttl), 1000) << *dst_ttl.ttl;
  EXPECT_LE(*dst_ttl.ttl, long_ttl);

  // The source is only read.
  EXPECT_EQ(await(src_->get("k5")), std::optional<std::string>("value 5"));
}

TEST_P(cache_migration, a_differing_target_fails_then_the_rerun_repairs) {
  fill_source();
  // A key only the target has, with no expiry: verification must name it.
  await(dst_->set("intruder", "v"));
  migration_options o;
  o.source_name = from_;
  o.target_name = to_;
  o.checkpoint_file = dir_ + "/cp.json";
  try {
    migrate_cache(rt_->system(), src_->actor(), dst_->actor(), o);
    ADD_FAILURE() << "expected verification_failed";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::verification_failed);
    EXPECT_NE(std::string(e.what()).find("the cache: 1 extra (intruder)"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(
                  "a rerun with the same checkpoint file repairs it"),
              std::string::npos)
        << e.what();
  }
  auto doc = nlohmann::json::parse(test::file_text(o.checkpoint_file));
  EXPECT_EQ(doc["entries"][0]["copied_all"], true);
  EXPECT_EQ(doc["entries"][0]["completed"], false);
  // Meanwhile the target lost a key and another one changed.
  await(dst_->del({"k10"}));
  await(dst_->set("k11", "changed"));
  auto again = migrate_cache(rt_->system(), src_->actor(), dst_->actor(), o);
  EXPECT_EQ(again.copied, 2u);  // k10 and k11, written again
  EXPECT_EQ(again.repaired, 3u);
  EXPECT_TRUE(again.verified);
  EXPECT_FALSE(await(dst_->exists("intruder")));
  EXPECT_EQ(await(dst_->get("k10")), std::optional<std::string>("value 10"));
  EXPECT_EQ(await(dst_->get("k11")), std::optional<std::string>("value 11"));
  doc = nlohmann::json::parse(test::file_text(o.checkpoint_file));
  EXPECT_EQ(doc["entries"][0]["completed"], true);
  // The source is only read.
  EXPECT_EQ(await(src_->get("k10")), std::optional<std::string>("value 10"));
  EXPECT_EQ(await(src_->get("k11")), std::optional<std::string>("value 11"));
}

// Without verification the summary still counts the target: keys it held
// before the copy are in target_count, not hidden behind the copy's count.
TEST_P(cache_migration, without_verification_the_target_is_counted) {
  fill_source();
  await(dst_->set("own1", "v"));
  await(dst_->set("own2", "v"));
  migration_options o;
  o.source_name = from_;
  o.target_name = to_;
  o.verify = false;
  auto r = migrate_cache(rt_->system(), src_->actor(), dst_->actor(), o);
  EXPECT_FALSE(r.verified);
  std::uint64_t live = plain_keys + ttl_keys;
  if (GetParam().from != "redis") {
    EXPECT_EQ(r.source_count, live);
  }
  EXPECT_EQ(r.target_count, live + 2);
}

TEST_P(cache_migration, a_completed_checkpoint_copies_nothing) {
  fill_source();
  migration_options o;
  o.source_name = from_;
  o.target_name = to_;
  o.checkpoint_file = dir_ + "/cp.json";
  auto first = migrate_cache(rt_->system(), src_->actor(), dst_->actor(), o);
  EXPECT_EQ(first.copied, static_cast<std::uint64_t>(plain_keys + ttl_keys));
  auto doc = nlohmann::json::parse(test::file_text(o.checkpoint_file));
  ASSERT_EQ(doc["entries"].size(), 1u);
  EXPECT_TRUE(doc["entries"][0]["collection"].is_null());
  EXPECT_EQ(doc["entries"][0]["completed"], true);
  auto again = migrate_cache(rt_->system(), src_->actor(), dst_->actor(), o);
  EXPECT_EQ(again.copied, 0u);
  EXPECT_TRUE(again.verified);
}

const std::vector<direction> directions = {
    {"memory", "sqlite"}, {"sqlite", "memory"}, {"sqlite", "redis"},
    {"redis", "sqlite"},  {"memory", "redis"},  {"redis", "memory"},
};

INSTANTIATE_TEST_SUITE_P(all, cache_migration, ::testing::ValuesIn(directions),
                         [](const ::testing::TestParamInfo<direction>& info) {
                           return info.param.from + "_to_" + info.param.to;
                         });

}  // namespace
}  // namespace storage::mig
