// Hostile strings as cache keys, values and namespaces, through the runtime
// on memory://, sqlite:// and redis://: each key is exactly itself (no glob,
// LIKE or SQL meaning), and clearing a namespace full of pattern characters
// never touches a sibling namespace those patterns would match.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "runtime/runtime.hpp"
#include "server_support.hpp"

namespace storage::srv {
namespace {

std::vector<std::string> hostile_keys() {
  return {
      "*",
      "?",
      "[a-z]*",
      "%",
      "_",
      "\\",
      "\\*",
      "'",
      "\"",
      "'; DROP TABLE cache; --",
      "'); DELETE FROM cache WHERE ('1'='1",
      "$1",
      "${HOME}",
      "{}",
      "{\"$gt\": \"\"}",
      ":",
      "a:b",
      "%3A",
      "\xce\xa9\xe2\x89\x88 \xf0\x9f\x98\x80 \xe4\xb8\xad",
      "line\nbreak\ttab\r",
      " spaced ",
      std::string(3000, 'k') + "*",
  };
}

// Every byte but [A-Za-z0-9] percent-encoded, for a namespace in a URI.
std::string encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

struct backend {
  std::string name;
  std::function<std::string(const std::string& dir, const std::string& ns)> uri;
};

class CacheInjection : public ::testing::TestWithParam<backend> {};

std::map<std::string, std::string> dump(cache_store& c) {
  std::map<std::string, std::string> all;
  std::string cursor;
  do {
    auto page = test::await(c.scan(cursor, 5));
    for (auto& e : page.entries) all[e.key] = e.value;
    cursor = page.next_cursor;
  } while (!cursor.empty());
  return all;
}

TEST_P(CacheInjection, HostileKeysAndValuesAreOnlyData) {
  auto dir = test::fresh_dir();
  auto tok = test::unique_token();
  runtime rt;
  auto c = rt.open_cache(GetParam().uri(dir, encode("inj" + tok + "n")));
  auto ks = hostile_keys();
  std::map<std::string, std::string> want;
  for (std::size_t i = 0; i < ks.size(); ++i) {
    // Each key holds the next hostile string (and a long one) as its value.
    auto v = ks[(i + 1) % ks.size()] + std::string(i * 500, '\'');
    test::await(c.set(ks[i], v));
    want[ks[i]] = v;
  }
  for (auto& [k, v] : want) {
    SCOPED_TRACE("key " + k.substr(0, 40));
    EXPECT_EQ(test::await(c.get(k)), v);
    EXPECT_TRUE(test::await(c.exists(k)));
    EXPECT_FALSE(test::await(c.add(k, "other")));
  }
  auto values = test::await(c.mget(ks));
  ASSERT_EQ(values.size(), ks.size());
  for (std::size_t i = 0; i < ks.size(); ++i) EXPECT_EQ(values[i], want[ks[i]]);
  EXPECT_EQ(dump(c), want);
  // Lookalikes of the patterns are other keys: absent.
  EXPECT_EQ(test::await(c.get("a")), std::nullopt);
  EXPECT_EQ(test::await(c.get("' OR '1'='1")), std::nullopt);
  EXPECT_FALSE(test::await(c.exists("ab")));
  // del of a pattern deletes the one key with that name.
  EXPECT_EQ(test::await(c.del({"*"})), 1u);
  EXPECT_EQ(test::await(c.del({"%", "_", "?"})), 3u);
  want.erase("*");
  want.erase("%");
  want.erase("_");
  want.erase("?");
  EXPECT_EQ(dump(c), want);
  EXPECT_EQ(test::await(c.incr("'; DROP TABLE cache; --:n", 5)), 5);
  EXPECT_EQ(test::await(c.clear()), want.size() + 1);
  EXPECT_TRUE(dump(c).empty());
}

// Namespaces made of pattern characters, each next to a sibling namespace
// the pattern would match if it were not escaped.
TEST_P(CacheInjection, ClearOfAPatternNamespaceSparesItsLookalikes) {
  auto dir = test::fresh_dir();
  auto tok = test::unique_token();
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"a*" + tok, "aXY" + tok},      {"a?" + tok, "aQ" + tok},
      {"a[bc]" + tok, "ab" + tok},    {"a%" + tok, "aPQ" + tok},
      {"a_" + tok, "aU" + tok},       {"a\\" + tok, "a" + tok},
      {"a:" + tok, "a:" + tok + "x"}, {"a'" + tok + "'--", "a" + tok + "q"},
  };
  runtime rt;
  std::vector<cache_store> hostile, sibling;
  for (auto& [h, s] : pairs) {
    hostile.push_back(rt.open_cache(GetParam().uri(dir, encode(h))));
    sibling.push_back(rt.open_cache(GetParam().uri(dir, encode(s))));
  }
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    test::await(hostile[i].set("k", "h"));
    test::await(hostile[i].set(tok + "x", "h"));
    test::await(sibling[i].set("k", "s"));
    test::await(sibling[i].set("other", "s"));
  }
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    SCOPED_TRACE("namespace " + pairs[i].first);
    EXPECT_EQ(test::await(hostile[i].get("k")), "h");
    EXPECT_EQ(dump(hostile[i]).size(), 2u);
    EXPECT_EQ(test::await(hostile[i].clear()), 2u);
    EXPECT_EQ(test::await(sibling[i].get("k")), "s");
    EXPECT_EQ(test::await(sibling[i].get("other")), "s");
  }
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    SCOPED_TRACE("sibling " + pairs[i].second);
    EXPECT_EQ(dump(sibling[i]).size(), 2u);
    EXPECT_EQ(test::await(sibling[i].clear()), 2u);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, CacheInjection,
    ::testing::Values(backend{"memory",
                              [](const std::string&, const std::string& ns) {
                                return "memory://?namespace=" + ns;
                              }},
                      backend{"sqlite",
                              [](const std::string& d, const std::string& ns) {
                                return "sqlite://" + d +
                                       "/c.db?namespace=" + ns;
                              }},
                      backend{"redis",
                              [](const std::string&, const std::string& ns) {
                                return test::with_param(test::redis_uri(),
                                                        "namespace=" + ns);
                              }}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace storage::srv
