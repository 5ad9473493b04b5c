// Cache conformance, part 2: time to live. An expired key is never returned,
// even before it is evicted; TTLs are positive milliseconds.
#include <algorithm>
#include <limits>
#include <thread>

#include "conformance/backends.hpp"
#include "messages/limits.hpp"

namespace storage::conformance {
namespace {

using namespace std::chrono_literals;
using opt = std::optional<std::string>;

class CacheTtl : public cache_fixture {
 protected:
  std::vector<std::string> scanned_keys() {
    std::vector<std::string> out;
    std::string cursor;
    int pages = 0;
    do {
      auto page = await(cs().scan(cursor, 7));
      for (auto& e : page.entries) out.push_back(e.key);
      cursor = page.next_cursor;
    } while (!cursor.empty() && ++pages < 10000);
    return out;
  }
};

TEST_P(CacheTtl, ExpiredKeyIsGoneEverywhere) {
  await(cs().set("short", "v", std::int64_t{100}));
  await(cs().set("long", "v", std::int64_t{60000}));
  await(cs().mset(
      {{"mshort", "v", std::int64_t{100}}, {"mlong", "v", std::nullopt}}));
  EXPECT_EQ(await(cs().get("short")), opt("v"));
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(await(cs().get("short")), std::nullopt);
  EXPECT_FALSE(await(cs().exists("short")));
  EXPECT_EQ(await(cs().get("mshort")), std::nullopt);
  EXPECT_EQ(await(cs().mget({"short", "long", "mshort", "mlong"})),
            (std::vector<opt>{std::nullopt, opt("v"), std::nullopt, opt("v")}));
  auto t = await(cs().ttl("short"));
  EXPECT_FALSE(t.exists);
  EXPECT_EQ(t.ttl, std::nullopt);
  auto keys = scanned_keys();
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"long", "mlong"}));
  EXPECT_EQ(await(cs().del({"short", "mshort"})), 0u);
  EXPECT_FALSE(await(cs().expire("short", 1000)));
}

TEST_P(CacheTtl, SetWithoutTtlCancelsExpiry) {
  await(cs().set("k", "old", std::int64_t{150}));
  await(cs().set("k", "new"));
  auto t = await(cs().ttl("k"));
  EXPECT_TRUE(t.exists);
  EXPECT_EQ(t.ttl, std::nullopt);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(await(cs().get("k")), opt("new"));
  // And set with a ttl replaces an earlier one.
  await(cs().set("j", "v", std::int64_t{60000}));
  await(cs().set("j", "v", std::int64_t{100}));
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(await(cs().get("j")), std::nullopt);
}

TEST_P(CacheTtl, AddOnExpiredKeySucceeds) {
  await(cs().set("k", "old", std::int64_t{100}));
  EXPECT_TRUE(await(cs().add("t", "v", std::int64_t{100})));
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(await(cs().get("t")), std::nullopt);
  EXPECT_TRUE(await(cs().add("k", "new")));
  EXPECT_EQ(await(cs().get("k")), opt("new"));
  auto t = await(cs().ttl("k"));
  EXPECT_TRUE(t.exists);
  EXPECT_EQ(t.ttl, std::nullopt);
}

TEST_P(CacheTtl, IncrOnExpiredKeyStartsAtZero) {
  await(cs().set("n", "41", std::int64_t{100}));
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(await(cs().incr("n", 1)), 1);
}

TEST_P(CacheTtl, ExpireAndTtl) {
  EXPECT_FALSE(await(cs().expire("missing", 1000)));
  auto none = await(cs().ttl("missing"));
  EXPECT_FALSE(none.exists);
  EXPECT_EQ(none.ttl, std::nullopt);

  await(cs().set("k", "v"));
  auto forever = await(cs().ttl("k"));
  EXPECT_TRUE(forever.exists);
  EXPECT_EQ(forever.ttl, std::nullopt);

  EXPECT_TRUE(await(cs().expire("k", 5000)));
  auto t = await(cs().ttl("k"));
  EXPECT_TRUE(t.exists);
  ASSERT_TRUE(t.ttl.has_value());
  EXPECT_LE(*t.ttl, 5000);
  EXPECT_GT(*t.ttl, 3000);
  EXPECT_EQ(await(cs().get("k")), opt("v"));

  EXPECT_TRUE(await(cs().expire("k", 100)));
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(await(cs().get("k")), std::nullopt);
  EXPECT_FALSE(await(cs().exists("k")));
}

// Beyond max_ttl_ms (100 years) too: Redis capped it and SQLite kept it, so
// the same set left two different TTLs.
TEST_P(CacheTtl, NonPositiveOrHugeTtlIsInvalidAndChangesNothing) {
  await(cs().set("k", "v"));
  for (std::int64_t bad : {std::int64_t{0}, std::int64_t{-5}, max_ttl_ms + 1,
                           std::numeric_limits<std::int64_t>::max()}) {
    SCOPED_TRACE(bad);
    EXPECT_TRUE(fails_with(errc::invalid_argument,
                           [&] { await(cs().set("k", "other", bad)); }));
    EXPECT_TRUE(fails_with(errc::invalid_argument,
                           [&] { await(cs().set("new", "x", bad)); }));
    EXPECT_TRUE(fails_with(errc::invalid_argument,
                           [&] { await(cs().add("new", "x", bad)); }));
    EXPECT_TRUE(fails_with(errc::invalid_argument,
                           [&] { await(cs().expire("k", bad)); }));
    EXPECT_TRUE(fails_with(errc::invalid_argument, [&] {
      await(cs().mset({{"new", "x", std::nullopt}, {"m", "y", bad}}));
    }));
    EXPECT_EQ(await(cs().get("k")), opt("v"));
    EXPECT_EQ(await(cs().ttl("k")).ttl, std::nullopt);
    EXPECT_FALSE(await(cs().exists("new")));
  }
  await(cs().set("far", "v", max_ttl_ms));
  auto left = await(cs().ttl("far")).ttl;
  ASSERT_TRUE(left.has_value());
  EXPECT_GT(*left, max_ttl_ms - 60000);
  EXPECT_LE(*left, max_ttl_ms);
}

TEST_P(CacheTtl, ClearAndScanSkipExpiredKeys) {
  await(cs().set("gone", "v", std::int64_t{100}));
  await(cs().set("live", "v"));
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(scanned_keys(), std::vector<std::string>{"live"});
  // Whether an expired key is counted by clear is not observable otherwise;
  // what matters is that nothing is left.
  auto cleared = await(cs().clear());
  EXPECT_GE(cleared, 1u);
  EXPECT_LE(cleared, 2u);
  EXPECT_TRUE(scanned_keys().empty());
  EXPECT_FALSE(await(cs().exists("live")));
}

INSTANTIATE_TEST_SUITE_P(Backends, CacheTtl,
                         ::testing::ValuesIn(cache_backends()),
                         cache_backend_name);

}  // namespace
}  // namespace storage::conformance
