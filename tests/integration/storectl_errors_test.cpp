// storectl's failures: exit 1 with one `storectl: error: CODE: MESSAGE` line
// for what the contract rejects (nothing written), exit 2 with the parser's
// message and usage for command-line syntax, and never a password.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "support/storectl_process.hpp"

namespace storage::test {
namespace {

using nlohmann::json;

// Exactly one stderr line with the code's prefix, nothing on stdout.
void expect_error(const storectl_result& r, const std::string& code) {
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("storectl: error: " + code + ": ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
}

void expect_syntax_error(const storectl_result& r) {
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err, "");
  EXPECT_EQ(r.err.find("storectl: error:"), std::string::npos) << r.err;
}

class StorectlErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = vector({"create", "--collection", "docs", "--dim", "3"});
    ASSERT_EQ(r.code, 0) << r.err;
    r = vector({"upsert", "--collection", "docs"},
               R"({"id":"a","embedding":[1,0,0]})");
    ASSERT_EQ(r.code, 0) << r.err;
  }

  std::string vectors() const { return "faiss://" + dir_.path() + "/v"; }
  std::string cache() const { return "sqlite://" + dir_.path() + "/c.db"; }

  storectl_result vector(std::vector<std::string> args,
                         const std::string& input = "") {
    args.insert(args.begin(), "vector");
    args.insert(args.end(), {"--store", vectors()});
    return storectl(args, input);
  }

  storectl_result cache_cmd(std::vector<std::string> args) {
    args.insert(args.begin(), "cache");
    args.insert(args.end(), {"--store", cache()});
    return storectl(args);
  }

  std::uint64_t count() {
    auto r = vector({"count", "--collection", "docs"});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.line().value("count", std::uint64_t{999999});
  }

  temp_dir dir_;
};

// Output that could not be written is a failed command, not exit 0 with
// the answer lost (found by an outside audit).
TEST_F(StorectlErrors, AnUnwritableStdoutFailsTheCommand) {
  auto err = dir_.path() + "/err";
  auto cmd = std::string(STORECTL_PATH) + " vector count --store " + vectors() +
             " --collection docs > /dev/full 2> " + err;
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::ifstream in(err);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text.rfind("storectl: error: internal: cannot write standard "
                       "output",
                       0),
            0u)
      << text;
}

TEST_F(StorectlErrors, BadUris) {
  expect_error(storectl({"vector", "list", "--store", "bogus://x"}),
               "invalid_argument");
  expect_error(storectl({"vector", "list", "--store", "::::"}),
               "invalid_argument");
  expect_error(storectl({"cache", "keys", "--store", "faiss:///tmp/x"}),
               "invalid_argument");
  expect_error(storectl({"vector", "list", "--store", "redis://127.0.0.1:1/0"}),
               "invalid_argument");
  expect_error(storectl({"vector", "list", "--store", "unknown-name",
                         "--config", dir_.path() + "/missing.conf"}),
               "invalid_argument");
}

TEST_F(StorectlErrors, SyntaxIsExitTwo) {
  expect_syntax_error(storectl({}));
  expect_syntax_error(storectl({"frobnicate"}));
  expect_syntax_error(storectl({"vector"}));
  expect_syntax_error(vector({"count", "--collection", "docs", "--bogus"}));
  expect_syntax_error(storectl({"vector", "count", "--collection", "docs"}));
  expect_syntax_error(vector({"create", "--collection", "x1x"}));
  expect_syntax_error(vector({"create", "--collection", "x1x", "--dim", "3x"}));
  expect_syntax_error(vector(
      {"search", "--collection", "docs", "--vector", "[1,0,0]", "-k", "abc"}));
  expect_syntax_error(cache_cmd({"set", "k", "v", "--ttl", "abc"}));
  expect_syntax_error(cache_cmd({"set", "k"}));
  expect_syntax_error(cache_cmd({"expire", "k", "soon"}));
  // delete needs exactly one of ids and where.
  expect_syntax_error(vector({"delete", "--collection", "docs"}));
  expect_syntax_error(vector(
      {"delete", "--collection", "docs", "--ids", "a", "--where", "{}"}));
  expect_syntax_error(vector({"get", "--collection", "docs"}));
  EXPECT_EQ(count(), 1u);

  auto help = storectl({"vector", "search", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--vector"), std::string::npos) << help.out;
}

TEST_F(StorectlErrors, ContractRejectionsAreExitOne) {
  expect_error(cache_cmd({"set", "k", "v", "--ttl", "0"}), "invalid_argument");
  expect_error(cache_cmd({"set", "k", "v", "--ttl=-5"}), "invalid_argument");
  expect_error(cache_cmd({"add", "k", "v", "--ttl", "0"}), "invalid_argument");
  expect_error(cache_cmd({"expire", "k", "0"}), "invalid_argument");
  expect_error(vector({"search", "--collection", "docs", "--vector", "[1,0,0]",
                       "-k", "0"}),
               "invalid_argument");
  expect_error(vector({"search", "--collection", "docs", "--vector", "[1,0,0]",
                       "-k", "-3"}),
               "invalid_argument");
  expect_error(
      vector({"search", "--collection", "docs", "--vector", "[1,\"a\"]"}),
      "invalid_argument");
  expect_error(vector({"search", "--collection", "docs", "--vector", "nope"}),
               "invalid_argument");
  expect_error(vector({"search", "--collection", "docs", "--vector", "[1,0]"}),
               "dimension_mismatch");
  auto regex = vector({"search", "--collection", "docs", "--vector", "[1,0,0]",
                       "--where", R"({"n":{"$regex":"x"}})"});
  expect_error(regex, "invalid_argument");
  // Named once: "--where: unknown operator", not "--where: where: ...".
  EXPECT_NE(regex.err.find("invalid_argument: --where: "), std::string::npos)
      << regex.err;
  EXPECT_EQ(regex.err.find("where: where:"), std::string::npos) << regex.err;
  expect_error(
      vector({"delete", "--collection", "docs", "--where", "not json"}),
      "invalid_argument");
  expect_error(vector({"count", "--collection", "a!"}), "invalid_argument");
  expect_error(vector({"create", "--collection", "ok-name", "--dim", "0"}),
               "invalid_argument");
  expect_error(vector({"create", "--collection", "ok-name", "--dim", "3",
                       "--metric", "hamming"}),
               "invalid_argument");
  expect_error(vector({"get", "--collection", "docs", "--ids", "a,,b"}),
               "invalid_argument");
  EXPECT_EQ(count(), 1u);

  auto r = cache_cmd({"set", "word", "hello"});
  ASSERT_EQ(r.code, 0) << r.err;
  expect_error(cache_cmd({"incr", "word"}), "type_mismatch");

  // A directory where a file is read, and a wait that is no number of
  // seconds, are named (before: the stream library's `internal`, and
  // --every inf printed every report at once).
  auto upsert_dir =
      vector({"upsert", "--collection", "docs", "--file", dir_.path()});
  expect_error(upsert_dir, "invalid_argument");
  EXPECT_NE(upsert_dir.err.find("is a directory"), std::string::npos)
      << upsert_dir.err;
  auto config_dir = storectl(
      {"cache", "get", "k", "--store", "name", "--config", dir_.path()});
  expect_error(config_dir, "invalid_argument");
  EXPECT_NE(config_dir.err.find("cannot read config file '" + dir_.path()),
            std::string::npos)
      << config_dir.err;
  for (const char* every : {"inf", "nan", "1e300", "0"})
    expect_error(storectl({"stats", "--store", cache(), "--every", every,
                           "--count", "2"}),
                 "invalid_argument");
  EXPECT_EQ(count(), 1u);
}

TEST_F(StorectlErrors, BadUpsertWritesNothing) {
  auto r = vector({"upsert", "--collection", "docs"},
                  R"({"id":"b","embedding":[1,0,0]})"
                  "\n"
                  R"({"id":"c","embedding":[1,0]})"
                  "\n");
  expect_error(r, "dimension_mismatch");
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
  EXPECT_EQ(count(), 1u);

  r = vector({"upsert", "--collection", "docs"},
             R"({"id":"b","embedding":[1,0,0]})"
             "\n"
             R"({"id":"b","embedding":[0,1,0]})"
             "\n");
  expect_error(r, "invalid_argument");
  EXPECT_NE(r.err.find("'b'"), std::string::npos) << r.err;
  EXPECT_EQ(count(), 1u);

  r = vector({"upsert", "--collection", "docs"},
             R"({"id":"b","embedding":[1,0,0]})"
             "\n\n{not json\n");
  expect_error(r, "invalid_argument");
  EXPECT_NE(r.err.find("line 3"), std::string::npos) << r.err;
  EXPECT_EQ(count(), 1u);

  r = vector({"upsert", "--collection", "docs"},
             R"({"id":"b","embedding":[1,0,0],"metadata":{"x":[1]}})");
  expect_error(r, "invalid_argument");
  EXPECT_EQ(count(), 1u);

  // A misspelt field would drop its metadata without a word.
  r = vector({"upsert", "--collection", "docs"},
             R"({"id":"b","embedding":[1,0,0],"metdata":{"x":1}})");
  expect_error(r, "invalid_argument");
  EXPECT_NE(r.err.find("unknown field 'metdata'"), std::string::npos) << r.err;
  EXPECT_EQ(count(), 1u);

  expect_error(vector({"upsert", "--collection", "nowhere"},
                      R"({"id":"b","embedding":[1,0,0]})"),
               "collection_not_found");
  expect_error(vector({"upsert", "--collection", "docs", "--file",
                       dir_.path() + "/no-such-file"}),
               "invalid_argument");
}

TEST_F(StorectlErrors, PasswordNeverPrinted) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"cache", "get", "k", "--store", "redis://:hunter2@127.0.0.1:1/0"},
           {"vector", "list", "--store",
            "pgvector://user:hunter2@127.0.0.1:1/db"}}) {
    auto r = storectl(args);
    expect_error(r, "backend_unavailable");
    EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
  }
  auto r = storectl(
      {"cache", "get", "k", "--store", "redis://:hunter2@127.0.0.1:port/0"});
  expect_error(r, "invalid_argument");
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
  r = storectl({"vector", "list", "--store", "memory://:hunter2@x:1/"});
  expect_error(r, "invalid_argument");
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
}

TEST_F(StorectlErrors, ConfigFileNamesStores) {
  std::string config = dir_.path() + "/storage.conf";
  {
    std::ofstream f(config);
    f << "[stores]\n"
      << "vectors=\"" << vectors() << "\"\n"
      << "sessions=\"" << cache() << "\"\n";
  }
  auto r = storectl({"vector", "count", "--store", "vectors", "--config",
                     config, "--collection", "docs"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.line(), json({{"count", 1}}));

  r = storectl(
      {"cache", "set", "--store", "sessions", "--config", config, "k", "v"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = cache_cmd({"get", "k"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.line(), json({{"key", "k"}, {"value", "v"}}));

  expect_error(
      storectl({"vector", "list", "--store", "nope", "--config", config}),
      "invalid_argument");
  expect_error(storectl({"vector", "list", "--store", "vectors"}),
               "invalid_argument");
  expect_error(
      storectl({"vector", "list", "--store", "sessions", "--config", config}),
      "invalid_argument");
}

// Comments where CAF's INI parser allows them; a line storectl
// cannot read is named in the error.
TEST_F(StorectlErrors, ConfigFileReadAsCafReadsIt) {
  std::string config = dir_.path() + "/cfg.ini";
  std::ofstream(config) << "; shared with a CAF application\n"
                        << "[stores]   ; names -> URIs\n"
                        << "fv = \"" << vectors()
                        << "\"   ; trailing comment\n";
  auto r = storectl({"vector", "list", "--store", "fv", "--config", config});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.line().value("name", ""), "docs");

  std::ofstream(config) << "[stores]\nfv = \"" << vectors() << "\" x\n";
  r = storectl({"vector", "list", "--store", "fv", "--config", config});
  expect_error(r, "invalid_argument");
  EXPECT_NE(r.err.find(config + ":2: unexpected 'x' after the value of 'fv'"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace storage::test
