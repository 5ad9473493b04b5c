// Cache conformance, part 1: values, mget/mset, del, add, incr, clear of one
// namespace only, and scan. Runs on every cache backend (see backends.hpp).
#include <algorithm>
#include <map>

#include "conformance/backends.hpp"

namespace storage::conformance {
namespace {

class CacheBasic : public cache_fixture {
 protected:
  // Every live entry of a cache, by scanning in pages of `limit`; fails the
  // test if a key is reported twice.
  static std::map<std::string, cache_entry> scan_all(cache_store& s,
                                                     std::uint32_t limit) {
    std::map<std::string, cache_entry> out;
    std::string cursor;
    int pages = 0;
    do {
      auto page = await(s.scan(cursor, limit));
      for (auto& e : page.entries)
        EXPECT_TRUE(out.emplace(e.key, e).second) << "scanned twice: " << e.key;
      cursor = page.next_cursor;
      if (++pages > 10000) {
        ADD_FAILURE() << "scan does not end";
        break;
      }
    } while (!cursor.empty());
    return out;
  }
};

using opt = std::optional<std::string>;

TEST_P(CacheBasic, GetSetReplace) {
  EXPECT_EQ(await(cs().get("k")), std::nullopt);
  EXPECT_FALSE(await(cs().exists("k")));
  await(cs().set("k", "v1"));
  EXPECT_EQ(await(cs().get("k")), opt("v1"));
  EXPECT_TRUE(await(cs().exists("k")));
  await(cs().set("k", "v2"));
  EXPECT_EQ(await(cs().get("k")), opt("v2"));
  // An empty value is a value, distinct from a missing key; bytes survive.
  await(cs().set("empty", ""));
  EXPECT_EQ(await(cs().get("empty")), opt(""));
  EXPECT_TRUE(await(cs().exists("empty")));
  const std::string odd = "na\xc3\xafve \xe2\x9c\x93 a:b*c?[x] \"q\" \\";
  await(cs().set(odd, odd + "!"));
  EXPECT_EQ(await(cs().get(odd)), opt(odd + "!"));
  EXPECT_TRUE(fails_with(errc::invalid_argument, [&] { await(cs().get("")); }));
  EXPECT_TRUE(
      fails_with(errc::invalid_argument, [&] { await(cs().set("", "v")); }));
}

TEST_P(CacheBasic, MgetKeepsOrder) {
  await(cs().mset({{"a", "1", std::nullopt},
                   {"b", "2", std::nullopt},
                   {"c", "3", std::int64_t{60000}}}));
  EXPECT_EQ(await(cs().mget({"c", "zz", "a", "b", "a", "yy"})),
            (std::vector<opt>{opt("3"), std::nullopt, opt("1"), opt("2"),
                              opt("1"), std::nullopt}));
  EXPECT_EQ(await(cs().mget({"zz"})), std::vector<opt>{std::nullopt});
  auto t = await(cs().ttl("c"));
  EXPECT_TRUE(t.exists);
  ASSERT_TRUE(t.ttl.has_value());
  EXPECT_GT(*t.ttl, 0);
  EXPECT_LE(*t.ttl, 60000);
  EXPECT_EQ(await(cs().ttl("a")).ttl, std::nullopt);
}

TEST_P(CacheBasic, MsetWithInvalidTtlWritesNothing) {
  EXPECT_TRUE(fails_with(errc::invalid_argument, [&] {
    await(cs().mset({{"m1", "1", std::nullopt}, {"m2", "2", std::int64_t{0}}}));
  }));
  EXPECT_EQ(await(cs().mget({"m1", "m2"})),
            (std::vector<opt>{std::nullopt, std::nullopt}));
}

TEST_P(CacheBasic, DelCountsOnlyExistingKeys) {
  await(cs().set("a", "1"));
  await(cs().set("b", "2"));
  await(cs().set("c", "3"));
  EXPECT_EQ(await(cs().del({"zz"})), 0u);
  EXPECT_EQ(await(cs().del({"a", "zz", "b"})), 2u);
  EXPECT_EQ(await(cs().del({"a"})), 0u);
  EXPECT_EQ(await(cs().get("a")), std::nullopt);
  EXPECT_EQ(await(cs().get("c")), opt("3"));
  EXPECT_FALSE(await(cs().exists("b")));
}

TEST_P(CacheBasic, AddOnlyIfAbsent) {
  EXPECT_TRUE(await(cs().add("k", "first")));
  EXPECT_FALSE(await(cs().add("k", "second")));
  EXPECT_FALSE(await(cs().add("k", "third", std::int64_t{100})));
  EXPECT_EQ(await(cs().get("k")), opt("first"));
  auto t = await(cs().ttl("k"));
  EXPECT_TRUE(t.exists);
  EXPECT_EQ(t.ttl, std::nullopt) << "a failed add changed the ttl";
}

TEST_P(CacheBasic, Incr) {
  EXPECT_EQ(await(cs().incr("n")), 1);
  EXPECT_EQ(await(cs().incr("n", 41)), 42);
  EXPECT_EQ(await(cs().incr("n", -50)), -8);
  EXPECT_EQ(await(cs().get("n")), opt("-8"));
  EXPECT_EQ(await(cs().incr("m", -3)), -3);
  await(cs().set("text", "abc"));
  EXPECT_TRUE(
      fails_with(errc::type_mismatch, [&] { await(cs().incr("text", 1)); }));
  EXPECT_EQ(await(cs().get("text")), opt("abc"));
  await(cs().set("frac", "1.5"));
  EXPECT_TRUE(
      fails_with(errc::type_mismatch, [&] { await(cs().incr("frac", 1)); }));
  EXPECT_EQ(await(cs().get("frac")), opt("1.5"));
  // An integer value set as a string is incremented; incr keeps the ttl.
  await(cs().set("s", "10", std::int64_t{60000}));
  EXPECT_EQ(await(cs().incr("s", 5)), 15);
  EXPECT_EQ(await(cs().get("s")), opt("15"));
  auto t = await(cs().ttl("s"));
  ASSERT_TRUE(t.ttl.has_value());
  EXPECT_LE(*t.ttl, 60000);
}

TEST_P(CacheBasic, ClearRemovesOwnNamespaceOnly) {
  auto sib_digit = open_ns(ns_ + "2");
  auto sib_under = open_ns(ns_ + "_x");
  std::vector<cache_entry> mine;
  for (int i = 0; i < 50; ++i)
    mine.push_back({"k" + std::to_string(i), "v", std::nullopt});
  mine.push_back({"withttl", "v", std::int64_t{60000}});
  await(cs().mset(mine));
  await(sib_digit.set("k1", "sibling-2"));
  await(sib_digit.set("other", "x"));
  await(sib_digit.set("t", "x", std::int64_t{60000}));
  await(sib_under.set("k1", "sibling_x"));
  await(sib_under.set("k2", "y"));
  EXPECT_EQ(await(cs().clear()), 51u);
  EXPECT_EQ(await(cs().get("k1")), std::nullopt);
  EXPECT_TRUE(scan_all(cs(), 7).empty());
  EXPECT_EQ(await(cs().clear()), 0u);
  EXPECT_EQ(await(sib_digit.get("k1")), opt("sibling-2"));
  EXPECT_EQ(await(sib_under.get("k1")), opt("sibling_x"));
  EXPECT_EQ(scan_all(sib_digit, 7).size(), 3u);
  EXPECT_EQ(scan_all(sib_under, 7).size(), 2u);
  // And the other way round: clearing a sibling leaves this one alone.
  await(cs().set("mine", "1"));
  EXPECT_EQ(await(sib_digit.clear()), 3u);
  EXPECT_EQ(await(cs().get("mine")), opt("1"));
  EXPECT_EQ(await(sib_under.get("k2")), opt("y"));
}

TEST_P(CacheBasic, SameKeyInTwoNamespacesIsTwoKeys) {
  auto other = open_ns(ns_ + "2");
  await(cs().set("k", "mine"));
  await(other.set("k", "theirs"));
  EXPECT_EQ(await(cs().get("k")), opt("mine"));
  EXPECT_EQ(await(other.get("k")), opt("theirs"));
  EXPECT_EQ(await(other.del({"k"})), 1u);
  EXPECT_EQ(await(cs().get("k")), opt("mine"));
}

TEST_P(CacheBasic, ScanCoversEveryLiveKeyOnce) {
  auto sibling = open_ns(ns_ + "2");
  await(sibling.set("k1", "not mine"));
  std::map<std::string, cache_entry> want;
  for (int i = 0; i < 50; ++i) {
    cache_entry e{"key" + std::to_string(i), "value" + std::to_string(i),
                  std::nullopt};
    if (i % 5 == 0) e.ttl = 60000;
    want[e.key] = e;
    await(cs().set(e.key, e.value, e.ttl));
  }
  auto got = scan_all(cs(), 7);
  ASSERT_EQ(got.size(), want.size());
  for (auto& [k, e] : want) {
    auto it = got.find(k);
    ASSERT_NE(it, got.end()) << k;
    EXPECT_EQ(it->second.value, e.value) << k;
    if (e.ttl) {
      ASSERT_TRUE(it->second.ttl.has_value()) << k;
      EXPECT_GT(*it->second.ttl, 0) << k;
      EXPECT_LE(*it->second.ttl, 60000) << k;
    } else {
      EXPECT_EQ(it->second.ttl, std::nullopt) << k;
    }
  }
  // A large page returns the same set.
  EXPECT_EQ(scan_all(cs(), 1000).size(), 50u);
}

INSTANTIATE_TEST_SUITE_P(Backends, CacheBasic,
                         ::testing::ValuesIn(cache_backends()),
                         cache_backend_name);

}  // namespace
}  // namespace storage::conformance
