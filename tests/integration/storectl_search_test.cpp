// `storectl vector search --file`: a file of queries answered as one batch,
// one output line per query in file order, each hit shaped as --vector
// prints it; a bad line names the file and line and searches nothing.
#include <fstream>

#include <gtest/gtest.h>

#include "support/storectl_process.hpp"

namespace storage::test {
namespace {

using nlohmann::json;

class StorectlSearch : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(
        run({"create", "--collection", "docs", "--dim", "3", "--metric", "l2"})
            .code,
        0);
    auto r = run(
        {"upsert", "--collection", "docs"},
        R"({"id":"a","embedding":[1,0,0],"metadata":{"n":1},"document":"doc a"})"
        "\n"
        R"({"id":"b","embedding":[0,1,0],"metadata":{"n":2}})"
        "\n"
        R"({"id":"c","embedding":[0,0,1]})"
        "\n");
    ASSERT_EQ(r.code, 0) << r.err;
  }

  std::string store() const { return "faiss://" + dir_.path() + "/vectors"; }

  storectl_result run(std::vector<std::string> args,
                      const std::string& input = "") {
    args.insert(args.begin(), "vector");
    args.push_back("--store");
    args.push_back(store());
    return storectl(args, input);
  }

  std::string write(const std::string& name, const std::string& text) {
    auto path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // What `--vector` prints for one query, as a JSON array of its lines.
  json single(const std::string& vector, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"search", "--collection", "docs", "--vector",
                                  vector};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    json out = json::array();
    for (auto& l : r.lines()) out.push_back(l);
    return out;
  }

  temp_dir dir_;
};

TEST_F(StorectlSearch, FileOfThreeQueries) {
  // Both line forms, and a blank line, which does not count as a query.
  auto file = write("q.jsonl",
                    "[1,0,0]\n"
                    "\n"
                    R"({"vector":[0,0.9,0.1]})"
                    "\n"
                    "[0.1, 0.1, 1]\n");
  auto r = run({"search", "--collection", "docs", "--file", file, "-k", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 3u) << r.out;
  const char* vectors[] = {"[1,0,0]", "[0,0.9,0.1]", "[0.1,0.1,1]"};
  const char* nearest[] = {"a", "b", "c"};
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(lines[i].size(), 2u) << lines[i];
    EXPECT_EQ(lines[i]["query"], i);
    auto& hits = lines[i]["hits"];
    ASSERT_EQ(hits.size(), 2u) << lines[i];
    EXPECT_EQ(hits[0]["id"], nearest[i]);
    // Each hit exactly as --vector prints it for that query alone.
    EXPECT_EQ(hits, single(vectors[i], {"-k", "2"}));
  }
  EXPECT_EQ(lines[0]["hits"][0], json({{"id", "a"},
                                       {"distance", 0.0},
                                       {"metadata", {{"n", 1}}},
                                       {"document", "doc a"}}));
  EXPECT_EQ(lines[1]["hits"][1]["id"], "c");
  EXPECT_EQ(lines[1]["hits"][1]["document"], nullptr);

  // With a filter; k defaults to 10.
  r = run({"search", "--collection", "docs", "--file", file, "--where",
           R"({"n":{"$gte":2}})"});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = r.lines();
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (auto& l : lines) {
    ASSERT_EQ(l["hits"].size(), 1u) << l;
    EXPECT_EQ(l["hits"][0]["id"], "b");
  }
}

TEST_F(StorectlSearch, BadLineNamesFileAndLineAndSearchesNothing) {
  auto expect_bad = [&](const std::string& text, const std::string& code,
                        const std::string& where) {
    SCOPED_TRACE(text);
    auto file = write("bad.jsonl", text);
    auto r = run({"search", "--collection", "docs", "--file", file});
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(r.out, "") << "nothing is searched";
    EXPECT_EQ(r.err.rfind("storectl: error: " + code + ": ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(file + ", line " + where), std::string::npos) << r.err;
  };
  expect_bad("[1,0,0]\n[0,1,0]\n{not json\n", "invalid_argument", "3");
  expect_bad("[1,0,0]\n\n[0,\"x\",0]\n", "invalid_argument", "3");
  expect_bad("[1,0,0]\n{\"query\":[1,0,0]}\n", "invalid_argument", "2");
  expect_bad("[]\n", "invalid_argument", "1");
  expect_bad("[1,0,0]\n[1e60,0,0]\n", "invalid_argument", "2");
  expect_bad("[1,0,0]\n[0,1,0]\n[1,0]\n", "dimension_mismatch", "3");

  // Every line of the right form but of the wrong length for the store.
  auto file = write("short.jsonl", "[1,0]\n[0,1]\n");
  auto r = run({"search", "--collection", "docs", "--file", file});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("storectl: error: dimension_mismatch: ", 0), 0u)
      << r.err;

  file = write("empty.jsonl", "\n\n");
  r = run({"search", "--collection", "docs", "--file", file});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("storectl: error: invalid_argument: ", 0), 0u) << r.err;

  r = run({"search", "--collection", "docs", "--file",
           dir_.path() + "/missing.jsonl"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("missing.jsonl"), std::string::npos) << r.err;
}

TEST_F(StorectlSearch, VectorAndFileExcludeEachOther) {
  auto file = write("q.jsonl", "[1,0,0]\n");
  auto both = run({"search", "--collection", "docs", "--vector", "[1,0,0]",
                   "--file", file});
  EXPECT_EQ(both.code, 2);
  EXPECT_EQ(both.out, "");
  EXPECT_NE(both.err.find("--vector"), std::string::npos) << both.err;
  EXPECT_NE(both.err.find("--file"), std::string::npos) << both.err;

  auto neither = run({"search", "--collection", "docs"});
  EXPECT_EQ(neither.code, 2);
  EXPECT_NE(neither.err.find("--vector"), std::string::npos) << neither.err;
  EXPECT_NE(neither.err.find("--file"), std::string::npos) << neither.err;
}

}  // namespace
}  // namespace storage::test
