// What storectl's parser would take too loosely: numbers in other bases or
// too large for 64 bits (exit 2 quoting what was typed, nothing written), a
// mistyped command (the message names the word), text that is not UTF-8
// (invalid_argument), and an import whose --metric contradicts the
// collection (conflict, nothing written).
#include <fstream>

#include <gtest/gtest.h>

#include "support/storectl_process.hpp"

namespace storage::test {
namespace {

class storectl_syntax : public ::testing::Test {
 protected:
  std::string vectors() const { return "faiss://" + dir_.path() + "/v"; }
  std::string cache() const { return "sqlite://" + dir_.path() + "/c.db"; }

  storectl_result cache_cmd(std::vector<std::string> args) {
    args.insert(args.begin(), "cache");
    args.insert(args.end(), {"--store", cache()});
    return storectl(args);
  }

  storectl_result vector(std::vector<std::string> args) {
    args.insert(args.begin(), "vector");
    args.insert(args.end(), {"--store", vectors()});
    return storectl(args);
  }

  // Every key of the cache, from `cache keys`.
  std::vector<std::string> keys() {
    auto r = cache_cmd({"keys"});
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<std::string> out;
    for (auto& l : r.lines()) out.push_back(l.value("key", ""));
    return out;
  }

  temp_dir dir_;
};

// Exit 2, nothing on stdout, `expected` in the message.
void expect_syntax(const storectl_result& r, const std::string& expected) {
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
}

TEST_F(storectl_syntax, numbers_are_decimal_and_fit_in_64_bits) {
  expect_syntax(cache_cmd({"set", "k", "v", "--ttl", "0x10"}),
                "--ttl: '0x10' is not a decimal integer");
  expect_syntax(cache_cmd({"set", "k", "v", "--ttl", "99999999999999999999"}),
                "--ttl: '99999999999999999999' does not fit in a 64-bit");
  expect_syntax(cache_cmd({"expire", "k", "99999999999999999999"}),
                "MS: '99999999999999999999' does not fit");
  expect_syntax(cache_cmd({"set", "k", "v", "--ttl", "1e3"}),
                "'1e3' is not a decimal integer");
  EXPECT_TRUE(keys().empty());

  ASSERT_EQ(cache_cmd({"set", "n", "5"}).code, 0);
  expect_syntax(cache_cmd({"incr", "n", "--by", "99999999999999999999"}),
                "--by: '99999999999999999999' does not fit");
  auto r = cache_cmd({"get", "n"});
  EXPECT_EQ(r.line().value("value", ""), "5") << r.out;
  r = cache_cmd({"incr", "n", "--by", "+2"});
  EXPECT_EQ(r.line().value("value", 0), 7) << r.err;

  expect_syntax(vector({"create", "--collection", "docs", "--dim", "0x3"}),
                "--dim: '0x3' is not a decimal integer");
  r = vector({"list"});
  EXPECT_EQ(r.out, "") << "no collection was created";
  ASSERT_EQ(vector({"create", "--collection", "docs", "--dim", "3"}).code, 0);
  expect_syntax(vector({"search", "--collection", "docs", "--vector", "[1,0,0]",
                        "-k", "99999999999999999999"}),
                "-k: '99999999999999999999' does not fit");
}

TEST_F(storectl_syntax, a_mistyped_command_is_named) {
  expect_syntax(storectl({"frob"}), "unknown command 'frob' after 'storectl'");
  auto r = storectl({"vector", "frobnicate"});
  expect_syntax(r, "unknown command 'frobnicate' after 'storectl vector'");
  EXPECT_NE(r.err.find("create, drop, list"), std::string::npos) << r.err;
  expect_syntax(storectl({"cache", "--store", cache(), "get", "a"}),
                "'storectl cache' needs a command before its options "
                "('--store')");
  expect_syntax(storectl({"cache"}),
                "'storectl cache' needs a command: one of");
  // A known command missing an option keeps CLI11's own message.
  expect_syntax(storectl({"cache", "get", "a"}), "--store is required");
}

TEST_F(storectl_syntax, keys_values_and_ids_must_be_utf8) {
  auto r = cache_cmd({"set", "k\xff", "v"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("storectl: error: invalid_argument: KEY is not valid "
                        "UTF-8",
                        0),
            0u)
      << r.err;
  EXPECT_EQ(cache_cmd({"set", "k", "\xc0\xaf"}).code, 1);      // overlong '/'
  EXPECT_EQ(cache_cmd({"set", "k", "\xed\xa0\x80"}).code, 1);  // a surrogate
  EXPECT_TRUE(keys().empty());
  r = cache_cmd({"mget", "a", "b\xfe"});
  EXPECT_NE(r.err.find("KEY 2 is not valid UTF-8"), std::string::npos) << r.err;

  ASSERT_EQ(cache_cmd({"set", "ключ", "значение ✓"}).code, 0);
  r = cache_cmd({"get", "ключ"});
  EXPECT_EQ(r.line().value("value", ""), "значение ✓") << r.out;

  ASSERT_EQ(vector({"create", "--collection", "docs", "--dim", "3"}).code, 0);
  r = vector({"get", "--collection", "docs", "--ids", "a,b\xff"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("an id in --ids is not valid UTF-8"), std::string::npos)
      << r.err;
}

TEST_F(storectl_syntax, import_refuses_a_metric_the_collection_has_not) {
  ASSERT_EQ(
      vector({"create", "--collection", "docs", "--dim", "3", "--metric", "l2"})
          .code,
      0);
  auto file = dir_.path() + "/in.jsonl";
  std::ofstream(file) << R"({"id":"a","embedding":[1,0,0]})"
                      << "\n";
  auto r = vector(
      {"import", "--collection", "docs", "--file", file, "--metric", "cosine"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("storectl: error: conflict: collection 'docs' exists "
                        "with metric l2, not --metric cosine",
                        0),
            0u)
      << r.err;
  r = vector({"count", "--collection", "docs"});
  EXPECT_EQ(r.line().value("count", 99), 0) << "nothing was written";
  for (auto extra :
       std::vector<std::vector<std::string>>{{}, {"--metric", "l2"}}) {
    std::vector<std::string> args{"import", "--collection", "docs", "--file",
                                  file};
    args.insert(args.end(), extra.begin(), extra.end());
    r = vector(args);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.line().value("imported", 0), 1) << r.out;
  }
}

}  // namespace
}  // namespace storage::test
