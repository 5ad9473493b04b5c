// The cache rules of ARCHITECTURE.md, checked directly against one adapter.
// A test file includes this once and instantiates `cache_rules` with a factory
// that returns a fresh, empty store on every call.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/cache_backend.hpp"
#include "messages/errors.hpp"

namespace storage::testing {

struct cache_factory {
  std::string name;
  std::function<std::unique_ptr<cache_backend>()> make;
};

inline void PrintTo(const cache_factory& f, std::ostream* os) {
  *os << f.name;
}

inline errc code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const store_error& e) {
    return e.code();
  }
  return errc::ok;
}

// Long enough that a loaded machine does not expire a key before the test
// reads it back; past_short sleeps well beyond it.
constexpr std::int64_t short_ttl = 100;
constexpr int past_short = 250;

inline void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// All live entries, page by page; fails the test on a repeated key.
inline std::vector<cache_entry> scan_all(cache_backend& c,
                                         std::uint32_t limit) {
  std::vector<cache_entry> out;
  std::set<std::string> seen;
  std::string cursor;
  for (int pages = 0; pages < 100000; ++pages) {
    auto page = c.scan(cursor, limit);
    EXPECT_LE(page.entries.size(), limit);
    for (auto& e : page.entries) {
      EXPECT_TRUE(seen.insert(e.key).second) << "key twice: " << e.key;
      out.push_back(e);
    }
    if (page.next_cursor.empty()) return out;
    cursor = page.next_cursor;
  }
  ADD_FAILURE() << "scan never ended";
  return out;
}

class cache_rules : public ::testing::TestWithParam<cache_factory> {
 protected:
  void SetUp() override { c = GetParam().make(); }
  std::unique_ptr<cache_backend> c;
};

TEST_P(cache_rules, get_set_and_replace) {
  EXPECT_EQ(c->get("k"), std::nullopt);
  c->set("k", "v1", std::nullopt);
  EXPECT_EQ(c->get("k"), "v1");
  c->set("k", "v2", std::nullopt);
  EXPECT_EQ(c->get("k"), "v2");
  c->set("empty", "", std::nullopt);
  EXPECT_EQ(c->get("empty"), "");
  std::string bytes("a\0b\xff", 4);
  c->set("bin", bytes, std::nullopt);
  EXPECT_EQ(c->get("bin"), bytes);
  EXPECT_EQ(code_of([&] { c->get(""); }), errc::invalid_argument);
}

TEST_P(cache_rules, expired_key_is_never_returned) {
  c->set("short", "v", short_ttl);
  c->set("long", "v", 60000);
  EXPECT_EQ(c->get("short"), "v");
  sleep_ms(past_short);
  EXPECT_EQ(c->get("short"), std::nullopt);
  EXPECT_FALSE(c->exists("short"));
  EXPECT_FALSE(c->ttl("short").exists);
  EXPECT_EQ(c->mget({"short", "long"}),
            (std::vector<std::optional<std::string>>{std::nullopt, "v"}));
  EXPECT_FALSE(c->expire("short", 1000));
  EXPECT_EQ(c->del({"short"}), 0u);
  auto all = scan_all(*c, 10);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].key, "long");
}

TEST_P(cache_rules, set_without_ttl_cancels_ttl) {
  c->set("k", "v1", short_ttl);
  c->set("k", "v2", std::nullopt);
  auto t = c->ttl("k");
  EXPECT_TRUE(t.exists);
  EXPECT_EQ(t.ttl, std::nullopt);
  sleep_ms(past_short);
  EXPECT_EQ(c->get("k"), "v2");
  c->set("k", "v3", 60000);
  t = c->ttl("k");
  ASSERT_TRUE(t.ttl);
  EXPECT_GT(*t.ttl, 59000);
  EXPECT_LE(*t.ttl, 60000);
}

TEST_P(cache_rules, ttl_reports_remaining_time) {
  EXPECT_FALSE(c->ttl("missing").exists);
  EXPECT_EQ(c->ttl("missing").ttl, std::nullopt);
  c->set("forever", "v", std::nullopt);
  EXPECT_TRUE(c->ttl("forever").exists);
  EXPECT_EQ(c->ttl("forever").ttl, std::nullopt);
  c->set("k", "v", 5000);
  sleep_ms(100);
  auto t = c->ttl("k");
  ASSERT_TRUE(t.exists);
  ASSERT_TRUE(t.ttl);
  EXPECT_GT(*t.ttl, 0);
  EXPECT_LE(*t.ttl, 4950);
  EXPECT_EQ(code_of([&] { c->set("k", "v", 0); }), errc::invalid_argument);
  EXPECT_EQ(code_of([&] { c->set("k", "v", -5); }), errc::invalid_argument);
}

TEST_P(cache_rules, add_only_if_absent_or_expired) {
  EXPECT_TRUE(c->add("k", "first", std::nullopt));
  EXPECT_FALSE(c->add("k", "second", short_ttl));
  EXPECT_EQ(c->get("k"), "first");
  EXPECT_EQ(c->ttl("k").ttl, std::nullopt);  // the failed add set no ttl
  EXPECT_TRUE(c->add("t", "old", short_ttl));
  sleep_ms(past_short);
  EXPECT_TRUE(c->add("t", "new", std::nullopt));
  EXPECT_EQ(c->get("t"), "new");
  EXPECT_EQ(c->ttl("t").ttl, std::nullopt);
}

TEST_P(cache_rules, del_counts_live_keys) {
  c->set("a", "1", std::nullopt);
  c->set("b", "2", std::nullopt);
  c->set("gone", "3", short_ttl);
  sleep_ms(past_short);
  EXPECT_EQ(c->del({"a", "missing", "gone", "b"}), 2u);
  EXPECT_EQ(c->get("a"), std::nullopt);
  EXPECT_EQ(c->get("b"), std::nullopt);
  EXPECT_EQ(c->del({"a"}), 0u);
  c->set("x", "1", std::nullopt);
  EXPECT_EQ(c->del({"x", "x"}), 1u);
}

TEST_P(cache_rules, exists) {
  EXPECT_FALSE(c->exists("k"));
  c->set("k", "", std::nullopt);
  EXPECT_TRUE(c->exists("k"));
}

TEST_P(cache_rules, mget_keeps_order_with_missing_keys) {
  c->set("a", "1", std::nullopt);
  c->set("c", "3", std::nullopt);
  auto got = c->mget({"c", "missing", "a", "c"});
  EXPECT_EQ(got, (std::vector<std::optional<std::string>>{"3", std::nullopt,
                                                          "1", "3"}));
  EXPECT_TRUE(c->mget({}).empty());
}

TEST_P(cache_rules, mset_sets_each_entry_with_its_own_ttl) {
  c->set("b", "old", 60000);
  c->mset({{"a", "1", short_ttl}, {"b", "2", std::nullopt}, {"c", "3", 60000}});
  EXPECT_EQ(c->mget({"a", "b", "c"}),
            (std::vector<std::optional<std::string>>{"1", "2", "3"}));
  EXPECT_EQ(c->ttl("b").ttl, std::nullopt);
  ASSERT_TRUE(c->ttl("c").ttl);
  sleep_ms(past_short);
  EXPECT_EQ(c->get("a"), std::nullopt);
  EXPECT_EQ(c->get("c"), "3");
}

TEST_P(cache_rules, mset_with_a_bad_entry_writes_nothing) {
  EXPECT_EQ(code_of([&] {
              c->mset({{"a", "1", std::nullopt}, {"b", "2", 0}});
            }),
            errc::invalid_argument);
  EXPECT_EQ(code_of([&] {
              c->mset({{"a", "1", std::nullopt}, {"", "2", std::nullopt}});
            }),
            errc::invalid_argument);
  EXPECT_FALSE(c->exists("a"));
}

TEST_P(cache_rules, incr_starts_at_zero_and_accepts_negative) {
  EXPECT_EQ(c->incr("n", 5), 5);
  EXPECT_EQ(c->incr("n", -8), -3);
  EXPECT_EQ(c->get("n"), "-3");
  EXPECT_EQ(c->incr("m", -2), -2);
  c->set("s", "41", std::nullopt);
  EXPECT_EQ(c->incr("s", 1), 42);
  EXPECT_EQ(c->get("s"), "42");
}

TEST_P(cache_rules, incr_on_non_integer_fails_and_changes_nothing) {
  for (std::string bad : {"abc", "1.5", " 1", "1 ", "", "+1", "007", "-0",
                          "99999999999999999999", "1e3"}) {
    c->set("k", bad, 60000);
    EXPECT_EQ(code_of([&] { c->incr("k", 1); }), errc::type_mismatch)
        << "'" << bad << "'";
    EXPECT_EQ(c->get("k"), bad);
    EXPECT_TRUE(c->ttl("k").ttl);
  }
}

TEST_P(cache_rules, incr_overflow_is_invalid_argument_and_changes_nothing) {
  c->set("k", "9223372036854775807", std::nullopt);
  EXPECT_EQ(code_of([&] { c->incr("k", 1); }), errc::invalid_argument);
  EXPECT_EQ(c->get("k"), "9223372036854775807");
  c->set("k", "-9223372036854775808", std::nullopt);
  EXPECT_EQ(code_of([&] { c->incr("k", -1); }), errc::invalid_argument);
  EXPECT_EQ(c->incr("k", 0), INT64_MIN);
}

TEST_P(cache_rules, incr_keeps_ttl_and_restarts_after_expiry) {
  c->set("k", "10", 60000);
  EXPECT_EQ(c->incr("k", 1), 11);
  auto t = c->ttl("k");
  ASSERT_TRUE(t.ttl);
  EXPECT_GT(*t.ttl, 50000);
  c->set("e", "10", short_ttl);
  sleep_ms(past_short);
  EXPECT_EQ(c->incr("e", 1), 1);
  EXPECT_EQ(c->ttl("e").ttl, std::nullopt);
}

TEST_P(cache_rules, expire_sets_a_new_ttl) {
  EXPECT_FALSE(c->expire("missing", 1000));
  EXPECT_FALSE(c->exists("missing"));
  c->set("k", "v", std::nullopt);
  EXPECT_TRUE(c->expire("k", short_ttl));
  ASSERT_TRUE(c->ttl("k").ttl);
  EXPECT_LE(*c->ttl("k").ttl, short_ttl);
  EXPECT_EQ(code_of([&] { c->expire("k", 0); }), errc::invalid_argument);
  sleep_ms(past_short);
  EXPECT_FALSE(c->exists("k"));
  c->set("long", "v", short_ttl);
  EXPECT_TRUE(c->expire("long", 60000));
  sleep_ms(past_short);
  EXPECT_EQ(c->get("long"), "v");
}

TEST_P(cache_rules, clear_removes_every_live_key) {
  EXPECT_EQ(c->clear(), 0u);
  for (int i = 0; i < 20; ++i)
    c->set("k" + std::to_string(i), "v", std::nullopt);
  c->set("dying", "v", short_ttl);
  sleep_ms(past_short);
  EXPECT_EQ(c->clear(), 20u);
  EXPECT_FALSE(c->exists("k0"));
  EXPECT_TRUE(scan_all(*c, 5).empty());
}

TEST_P(cache_rules, scan_pages_cover_every_key_once_in_order) {
  std::set<std::string> expected;
  for (int i = 0; i < 53; ++i) {
    auto k = "key:" + std::to_string(i);
    c->set(k, "v" + std::to_string(i), i % 2 ? ttl_ms(60000) : std::nullopt);
    expected.insert(k);
  }
  c->set("dying", "v", short_ttl);
  sleep_ms(past_short);
  for (std::uint32_t limit : {1u, 7u, 53u, 1000u}) {
    auto all = scan_all(*c, limit);
    ASSERT_EQ(all.size(), expected.size()) << "limit " << limit;
    std::set<std::string> got;
    for (std::size_t i = 0; i < all.size(); ++i) {
      got.insert(all[i].key);
      if (i > 0) {
        EXPECT_LT(all[i - 1].key, all[i].key);
      }
      int n = std::stoi(all[i].key.substr(4));
      EXPECT_EQ(all[i].value, "v" + std::to_string(n));
      if (n % 2) {
        ASSERT_TRUE(all[i].ttl);
        EXPECT_GT(*all[i].ttl, 0);
        EXPECT_LE(*all[i].ttl, 60000);
      } else {
        EXPECT_EQ(all[i].ttl, std::nullopt);
      }
    }
    EXPECT_EQ(got, expected);
  }
  EXPECT_EQ(code_of([&] { c->scan("", 0); }), errc::invalid_argument);
}

}  // namespace storage::testing
