// storectl's vector commands against the embedded faiss:// store: each
// command's stdout lines and exit code, as CLI.md gives them.
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "support/storectl_process.hpp"

namespace storage::test {
namespace {

using nlohmann::json;

class StorectlVector : public ::testing::Test {
 protected:
  std::string store() const { return "faiss://" + dir_.path() + "/vectors"; }

  storectl_result run(std::vector<std::string> args,
                      const std::string& input = "") {
    args.insert(args.begin(), {"vector"});
    args.push_back("--store");
    args.push_back(store());
    return storectl(args, input);
  }

  void create(const std::string& c, int dim, const std::string& metric) {
    auto r = run({"create", "--collection", c, "--dim", std::to_string(dim),
                  "--metric", metric});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  std::uint64_t count(const std::string& c) {
    auto r = run({"count", "--collection", c});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.line().value("count", std::uint64_t{999999});
  }

  temp_dir dir_;
};

const char* three_records =
    R"({"id":"a","embedding":[1,0,0],"metadata":{"kind":"x","n":1},"document":"doc a"})"
    "\n\n"
    R"({"id":"b","embedding":[0,1,0],"metadata":{"kind":"y","n":2}})"
    "\n"
    R"({"id":"c","embedding":[0.9,0.1,0]})"
    "\n";

TEST_F(StorectlVector, CreateListCountDrop) {
  auto r = run({"create", "--collection", "docs", "--dim", "3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"created\":\"docs\"}\n");
  EXPECT_EQ(r.err, "");

  r = run(
      {"create", "--collection", "docs", "--dim", "3", "--metric", "cosine"});
  EXPECT_EQ(r.code, 0) << "the same spec again is fine: " << r.err;
  EXPECT_EQ(r.line(), json({{"created", "docs"}}));

  r = run({"create", "--collection", "docs", "--dim", "4"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("storectl: error: conflict: ", 0), 0u) << r.err;

  create("l2-things", 2, "l2");
  r = run({"list"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 2u) << r.out;
  std::map<std::string, json> by_name;
  for (auto& l : lines) by_name[l.at("name")] = l;
  EXPECT_EQ(by_name["docs"],
            json({{"name", "docs"}, {"dimension", 3}, {"metric", "cosine"}}));
  EXPECT_EQ(by_name["l2-things"],
            json({{"name", "l2-things"}, {"dimension", 2}, {"metric", "l2"}}));

  EXPECT_EQ(count("docs"), 0u);

  r = run({"drop", "--collection", "docs"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"dropped\":\"docs\"}\n");
  r = run({"drop", "--collection", "docs"});
  EXPECT_EQ(r.code, 0) << "a missing collection is fine: " << r.err;
  EXPECT_EQ(r.line(), json({{"dropped", "docs"}}));
  r = run({"list"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(r.lines().size(), 1u) << r.out;
}

TEST_F(StorectlVector, UpsertGetSearchDelete) {
  create("docs", 3, "cosine");
  auto r = run({"upsert", "--collection", "docs"}, three_records);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"upserted\":3}\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(count("docs"), 3u);

  // In the order asked; a missing id is simply absent.
  r = run({"get", "--collection", "docs", "--ids", "c,missing,a"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0], json::parse(R"({"id":"c","embedding":[0.8999999761581421,
      0.10000000149011612,0.0],"metadata":{},"document":null})"));
  EXPECT_EQ(lines[1]["id"], "a");
  EXPECT_EQ(lines[1]["metadata"], json({{"kind", "x"}, {"n", 1}}));
  EXPECT_EQ(lines[1]["document"], "doc a");
  EXPECT_EQ(lines[1]["embedding"], json({1.0, 0.0, 0.0}));

  r = run({"search", "--collection", "docs", "--vector", "[1,0,0]", "-k", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = r.lines();
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["id"], "a");
  EXPECT_NEAR(lines[0]["distance"].get<double>(), 0.0, 1e-5);
  EXPECT_EQ(lines[0]["metadata"], json({{"kind", "x"}, {"n", 1}}));
  EXPECT_EQ(lines[0]["document"], "doc a");
  EXPECT_EQ(lines[1]["id"], "c");
  EXPECT_EQ(lines[1]["metadata"], json::object());
  EXPECT_EQ(lines[1]["document"], nullptr);
  EXPECT_LE(lines[0]["distance"].get<double>(),
            lines[1]["distance"].get<double>());
  EXPECT_EQ(lines[0].size(), 4u);

  // k defaults to 10: every record.
  r = run({"search", "--collection", "docs", "--vector", "[0,1,0]"});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = r.lines();
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0]["id"], "b");

  r = run({"search", "--collection", "docs", "--vector", "[1,0,0]", "--where",
           R"({"n":{"$gte":2}})"});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = r.lines();
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(lines[0]["id"], "b");

  r = run({"delete", "--collection", "docs", "--ids", "a,nope"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"deleted\":1}\n");
  r = run({"delete", "--collection", "docs", "--where", R"({"kind":"y"})"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.line(), json({{"deleted", 1}}));
  EXPECT_EQ(count("docs"), 1u);
}

TEST_F(StorectlVector, UpsertFromFileAndIdsWithCommas) {
  create("docs", 2, "l2");
  std::string file = dir_.path() + "/records.jsonl";
  {
    std::ofstream f(file);
    f << R"({"id":"x,y","embedding":[1,2],"document":"comma"})"
      << "\n"
      << R"({"id":"plain","embedding":[3,4],"metadata":{"tag":null}})"
      << "\n";
  }
  auto r = run({"upsert", "--collection", "docs", "--file", file});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.line(), json({{"upserted", 2}}));

  // Printed in the order given, across --id and --ids.
  r = run({"get", "--collection", "docs", "--id", "x,y", "--ids", "plain"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["id"], "x,y");
  EXPECT_EQ(lines[0]["document"], "comma");
  EXPECT_EQ(lines[1]["id"], "plain");
  EXPECT_EQ(lines[1]["metadata"], json::object());
  r = run({"get", "--collection", "docs", "--ids", "plain", "--id", "x,y",
           "--ids", "plain"});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = r.lines();
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["id"], "plain");
  EXPECT_EQ(lines[1]["id"], "x,y");

  r = run({"delete", "--collection", "docs", "--id", "x,y"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.line(), json({{"deleted", 1}}));

  // Upserting a large input goes in several requests and counts them all.
  std::string many;
  for (int i = 0; i < 1203; ++i)
    many += R"({"id":"r)" + std::to_string(i) + R"(","embedding":[)" +
            std::to_string(i) + ",1]}\n";
  r = run({"upsert", "--collection", "docs"}, many);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.line(), json({{"upserted", 1203}}));
  EXPECT_EQ(count("docs"), 1204u);
}

}  // namespace
}  // namespace storage::test
