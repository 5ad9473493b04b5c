// storectl's cache commands against the embedded sqlite:// cache: each
// command's stdout lines and exit code, as CLI.md gives them.
#include <map>

#include <gtest/gtest.h>

#include "support/storectl_process.hpp"

namespace storage::test {
namespace {

using nlohmann::json;

class StorectlCache : public ::testing::Test {
 protected:
  std::string store() const { return "sqlite://" + dir_.path() + "/c.db"; }

  storectl_result run(std::vector<std::string> args) {
    args.insert(args.begin(), "cache");
    args.insert(args.end(), {"--store", store()});
    return storectl(args);
  }

  json one(std::vector<std::string> args) {
    auto r = run(std::move(args));
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return r.line();
  }

  temp_dir dir_;
};

TEST_F(StorectlCache, EveryCommand) {
  auto r = run({"set", "greeting", "hello world"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"ok\":true}\n");

  EXPECT_EQ(one({"get", "greeting"}),
            json({{"key", "greeting"}, {"value", "hello world"}}));
  EXPECT_EQ(one({"get", "absent"}),
            json({{"key", "absent"}, {"value", nullptr}}));

  EXPECT_EQ(one({"add", "greeting", "other"}), json({{"added", false}}));
  EXPECT_EQ(one({"add", "fresh", "1", "--ttl", "600000"}),
            json({{"added", true}}));
  EXPECT_EQ(one({"get", "greeting"})["value"], "hello world");

  EXPECT_EQ(one({"exists", "fresh"}), json({{"exists", true}}));
  EXPECT_EQ(one({"exists", "absent"}), json({{"exists", false}}));

  r = run({"mget", "fresh", "absent", "greeting"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], json({{"key", "fresh"}, {"value", "1"}}));
  EXPECT_EQ(lines[1], json({{"key", "absent"}, {"value", nullptr}}));
  EXPECT_EQ(lines[2], json({{"key", "greeting"}, {"value", "hello world"}}));

  EXPECT_EQ(one({"incr", "counter"}), json({{"value", 1}}));
  EXPECT_EQ(one({"incr", "counter", "--by", "41"}), json({{"value", 42}}));
  EXPECT_EQ(one({"incr", "counter", "--by=-2"}), json({{"value", 40}}));

  auto ttl = one({"ttl", "fresh"});
  EXPECT_EQ(ttl["exists"], true);
  ASSERT_TRUE(ttl["ttl_ms"].is_number_integer()) << ttl;
  EXPECT_GT(ttl["ttl_ms"].get<std::int64_t>(), 0);
  EXPECT_LE(ttl["ttl_ms"].get<std::int64_t>(), 600000);
  EXPECT_EQ(one({"ttl", "greeting"}),
            json({{"exists", true}, {"ttl_ms", nullptr}}));
  EXPECT_EQ(one({"ttl", "absent"}),
            json({{"exists", false}, {"ttl_ms", nullptr}}));

  EXPECT_EQ(one({"expire", "greeting", "900000"}), json({{"ok", true}}));
  EXPECT_EQ(one({"expire", "absent", "900000"}), json({{"ok", false}}));
  EXPECT_TRUE(one({"ttl", "greeting"})["ttl_ms"].is_number_integer());

  r = run({"set", "short", "gone soon", "--ttl", "1"});
  ASSERT_EQ(r.code, 0) << r.err;

  r = run({"keys"});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = r.lines();
  std::map<std::string, json> by_key;
  for (auto& l : lines) {
    EXPECT_EQ(l.size(), 3u) << l;
    by_key[l.at("key")] = l;
  }
  EXPECT_EQ(by_key.count("short"), 0u) << "an expired key is never listed";
  ASSERT_EQ(by_key.size(), 3u) << r.out;
  EXPECT_EQ(by_key["counter"],
            json({{"key", "counter"}, {"value", "40"}, {"ttl_ms", nullptr}}));
  EXPECT_EQ(by_key["fresh"]["value"], "1");
  EXPECT_TRUE(by_key["fresh"]["ttl_ms"].is_number_integer());
  EXPECT_TRUE(by_key["greeting"]["ttl_ms"].is_number_integer());

  EXPECT_EQ(one({"del", "fresh", "absent", "counter"}), json({{"deleted", 2}}));
  EXPECT_EQ(one({"clear"}), json({{"cleared", 1}}));
  r = run({"keys"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(StorectlCache, MemoryCacheNeedsNoServer) {
  auto r = storectl({"cache", "set", "--store", "memory://", "k", "v"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.line(), json({{"ok", true}}));
}

}  // namespace
}  // namespace storage::test
