// storectl against the real servers (Redis, PostgreSQL + pgvector, Chroma)
// that scripts/services.sh starts: every command once per backend.
#include <map>

#include <gtest/gtest.h>

#include "messages/store_uri.hpp"
#include "support/servers.hpp"
#include "support/storectl_process.hpp"

namespace storage::test {
namespace {

using nlohmann::json;

json ok_line(const storectl_result& r) {
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  return r.line();
}

void exercise_vector_store(const std::string& store) {
  auto c = unique_name("storectl");
  auto run = [&](std::vector<std::string> args, const std::string& in = "") {
    args.insert(args.begin(), "vector");
    args.insert(args.end(), {"--store", store});
    return storectl(args, in);
  };
  auto with_c = [&](std::vector<std::string> args, const std::string& in = "") {
    args.insert(args.end(), {"--collection", c});
    return run(args, in);
  };

  ASSERT_EQ(ok_line(with_c({"create", "--dim", "3", "--metric", "l2"})),
            json({{"created", c}}));
  auto r = run({"list"});
  ASSERT_EQ(r.code, 0) << r.err;
  bool listed = false;
  for (auto& l : r.lines())
    if (l["name"] == c) {
      listed = true;
      EXPECT_EQ(l, json({{"name", c}, {"dimension", 3}, {"metric", "l2"}}));
    }
  EXPECT_TRUE(listed) << r.out;

  EXPECT_EQ(
      ok_line(with_c({"upsert"},
                     R"({"id":"a","embedding":[0,0,0],"metadata":{"g":1}})"
                     "\n"
                     R"({"id":"b","embedding":[1,0,0],"document":"bee"})"
                     "\n"
                     R"({"id":"c,d","embedding":[3,0,0]})"
                     "\n")),
      json({{"upserted", 3}}));
  EXPECT_EQ(ok_line(with_c({"count"})), json({{"count", 3}}));

  r = with_c({"get", "--ids", "b,zz", "--id", "c,d", "--id", "a"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], json::parse(R"({"id":"b","embedding":[1.0,0.0,0.0],
      "metadata":{},"document":"bee"})"));
  EXPECT_EQ(lines[1]["id"], "c,d");
  EXPECT_EQ(lines[2]["metadata"], json({{"g", 1}}));
  EXPECT_EQ(lines[2]["document"], nullptr);

  r = with_c({"search", "--vector", "[0.9,0,0]", "-k", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = r.lines();
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["id"], "b");
  EXPECT_NEAR(lines[0]["distance"].get<double>(), 0.01, 1e-4);
  EXPECT_EQ(lines[1]["id"], "a");
  EXPECT_NEAR(lines[1]["distance"].get<double>(), 0.81, 1e-4);

  r = with_c({"search", "--vector", "[0.9,0,0]", "--where", R"({"g":1})"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(r.lines().size(), 1u) << r.out;

  r = with_c({"search", "--vector", "[1,0]"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("storectl: error: dimension_mismatch: ", 0), 0u)
      << r.err;

  EXPECT_EQ(ok_line(with_c({"delete", "--id", "c,d"})), json({{"deleted", 1}}));
  EXPECT_EQ(ok_line(with_c({"delete", "--where", R"({"g":{"$eq":1}})"})),
            json({{"deleted", 1}}));
  EXPECT_EQ(ok_line(with_c({"count"})), json({{"count", 1}}));
  EXPECT_EQ(ok_line(with_c({"drop"})), json({{"dropped", c}}));
}

void exercise_cache(const std::string& store) {
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "cache");
    args.insert(args.end(), {"--store", store});
    return storectl(args);
  };
  EXPECT_EQ(ok_line(run({"clear"})), json({{"cleared", 0}}));
  EXPECT_EQ(ok_line(run({"set", "a", "1"})), json({{"ok", true}}));
  EXPECT_EQ(ok_line(run({"add", "a", "2"})), json({{"added", false}}));
  EXPECT_EQ(ok_line(run({"add", "b", "x", "--ttl", "600000"})),
            json({{"added", true}}));
  EXPECT_EQ(ok_line(run({"get", "a"})), json({{"key", "a"}, {"value", "1"}}));
  auto r = run({"mget", "b", "none", "a"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.lines(), (std::vector<json>{
                           {{"key", "b"}, {"value", "x"}},
                           {{"key", "none"}, {"value", nullptr}},
                           {{"key", "a"}, {"value", "1"}},
                       }));
  EXPECT_EQ(ok_line(run({"exists", "b"})), json({{"exists", true}}));
  EXPECT_EQ(ok_line(run({"incr", "a", "--by", "9"})), json({{"value", 10}}));
  EXPECT_EQ(ok_line(run({"expire", "a", "600000"})), json({{"ok", true}}));
  EXPECT_EQ(ok_line(run({"expire", "none", "600000"})), json({{"ok", false}}));
  auto ttl = ok_line(run({"ttl", "a"}));
  EXPECT_EQ(ttl["exists"], true);
  EXPECT_TRUE(ttl["ttl_ms"].is_number_integer()) << ttl;
  EXPECT_EQ(ok_line(run({"ttl", "none"})),
            json({{"exists", false}, {"ttl_ms", nullptr}}));
  r = run({"keys"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["key"], "a");
  EXPECT_EQ(lines[0]["value"], "10");
  EXPECT_EQ(lines[1]["key"], "b");
  EXPECT_EQ(ok_line(run({"del", "a", "none"})), json({{"deleted", 1}}));
  EXPECT_EQ(ok_line(run({"clear"})), json({{"cleared", 1}}));
}

TEST(StorectlServers, Redis) {
  exercise_cache(
      with_param(redis_uri(), "namespace=" + unique_name("storectl")));
}

TEST(StorectlServers, Pgvector) {
  exercise_vector_store(pgvector_uri());
}

TEST(StorectlServers, Chroma) {
  exercise_vector_store(chroma_uri());
}

TEST(StorectlServers, PasswordOfARealServerNeverPrinted) {
  auto r = storectl({"vector", "count", "--store", pgvector_uri(),
                     "--collection", unique_name("missing")});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("storectl: error: collection_not_found: ", 0), 0u)
      << r.err;
  auto password = store_uri::parse(pgvector_uri()).password();
  ASSERT_FALSE(password.empty()) << "the test server's URI has a password";
  EXPECT_EQ(r.err.find(password), std::string::npos) << r.err;
}

}  // namespace
}  // namespace storage::test
