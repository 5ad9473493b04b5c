// Passwords through every storectl path that can print: a password holding
// every character a URI gives a meaning to (@ / : ? # % space) connects to
// real Redis and PostgreSQL when percent-encoded, and neither it nor a wrong
// one ever shows in stdout, stderr, debug logs, progress lines or checkpoint
// files (created 0600). A config file readable by others that holds a
// password gets a warning.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "messages/store_uri.hpp"
#include "support/odd_password.hpp"
#include "support/servers.hpp"
#include "support/storectl_process.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

class StorectlSecrets : public ::testing::Test {
 protected:
  void SetUp() override {
    // Debug logs are among the paths that must not print a password.
    setenv("STORECTL_LOG", "debug", 1);
    pg_odd_ = odd_pgvector_uri();
    redis_odd_ = odd_redis_uri(unique_name("sec"));
    ASSERT_FALSE(redis_odd_.empty());
  }
  void TearDown() override { unsetenv("STORECTL_LOG"); }

  storectl_result run(const std::vector<std::string>& args,
                      const std::string& input = "") {
    auto r = storectl(args, input);
    std::string where;
    for (auto& a : args) where += a + " ";
    expect_hidden(r, where);
    return r;
  }

  temp_dir dir_;
  std::string pg_odd_, redis_odd_;
};

TEST_F(StorectlSecrets, OddPasswordConnectsAndNeverShows) {
  auto c = unique_name("sec");
  ASSERT_EQ(run({"vector", "create", "--store", pg_odd_, "--collection", c,
                 "--dim", "2"})
                .code,
            0);
  ASSERT_EQ(run({"vector", "upsert", "--store", pg_odd_, "--collection", c},
                R"({"id":"a","embedding":[1,0]})")
                .code,
            0);
  auto found = run({"vector", "search", "--store", pg_odd_, "--collection", c,
                    "--vector", "[1,0]", "-k", "1"});
  ASSERT_EQ(found.code, 0) << found.err;
  EXPECT_EQ(found.line()["id"], "a");
  EXPECT_EQ(run({"cache", "set", "k", "v", "--store", redis_odd_}).code, 0);
  EXPECT_EQ(run({"cache", "get", "k", "--store", redis_odd_}).line()["value"],
            "v");
  EXPECT_EQ(run({"cache", "del", "k", "--store", redis_odd_}).code, 0);
  // A migration with progress lines and a checkpoint, into each server.
  auto cp = dir_.path() + "/vec.checkpoint";
  auto r = run({"migrate", "--from", pg_odd_, "--to",
                "faiss://" + dir_.path() + "/f", "--collection", c,
                "--checkpoint", cp});
  ASSERT_EQ(r.code, 0) << r.err;
  expect_hidden(file_text(cp), "checkpoint");
  struct stat st {};
  ASSERT_EQ(::stat(cp.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto cache_cp = dir_.path() + "/cache.checkpoint";
  ASSERT_EQ(run({"cache", "set", "--store", "sqlite://" + dir_.path() + "/c.db",
                 "k", "v"})
                .code,
            0);
  r = run({"migrate", "--from", "sqlite://" + dir_.path() + "/c.db", "--to",
           redis_odd_, "--checkpoint", cache_cp});
  ASSERT_EQ(r.code, 0) << r.err;
  expect_hidden(file_text(cache_cp), "checkpoint");
  // Verify names both stores too.
  r = run({"verify", "--from", "sqlite://" + dir_.path() + "/c.db", "--to",
           redis_odd_});
  EXPECT_EQ(r.code, 0) << r.err;
  run({"vector", "drop", "--store", pg_odd_, "--collection", c});
}

TEST_F(StorectlSecrets, WrongPasswordsFailWithoutShowingThem) {
  auto pg = store_uri::parse(pgvector_uri());
  auto rd = store_uri::parse(redis_uri());
  auto ch = store_uri::parse(chroma_uri());
  auto at = [](const store_uri& u) {
    return u.host() + ":" + std::to_string(u.port());
  };
  for (std::string special :
       {"@", "/", ":", "?", "#", "%", " ", "%40", "%2F", "%3F", "%25", "%20"}) {
    auto pw = "Kq7x" + special + "Wz8y";
    for (auto uri :
         {"pgvector://storage:" + pw + "@" + at(pg) + pg.path(),
          "redis://:" + pw + "@" + at(rd) + "/0",
          "redis://nobody:" + pw + "@" + at(rd) + "/0",
          "chroma://u:" + pw + "@" + at(ch), "memory://:" + pw + "@x",
          "sqlite://u:" + pw + "@h/x.db", "faiss://u:" + pw + "@h/dir",
          "caf://u:" + pw + "@" + at(rd) + "/name",
          "redis:/:" + pw + "@" + at(rd)}) {
      bool cache = uri.rfind("redis", 0) == 0 || uri.rfind("memory", 0) == 0 ||
                   uri.rfind("sqlite", 0) == 0;
      auto r = cache ? run({"cache", "get", "k", "--store", uri})
                     : run({"vector", "list", "--store", uri});
      EXPECT_NE(r.code, 0) << uri;
      // Given as --opt=value, and to migrate, whose checkpoint stays clean.
      auto cp = dir_.path() + "/wrong.checkpoint";
      r = run({"migrate", "--from=" + uri, "--to",
               (cache ? "sqlite://" : "faiss://") + dir_.path() + "/t",
               "--checkpoint", cp});
      EXPECT_NE(r.code, 0) << uri;
      expect_hidden(file_text(cp), "checkpoint of " + std::to_string(r.code));
    }
  }
}

// A URI mistyped around its password (no "://", a ':' too few, no '@') is
// not parsed as one, and was once quoted whole in the error.
TEST_F(StorectlSecrets, MistypedUrisDoNotShowTheirPasswords) {
  auto rd = store_uri::parse(redis_uri());
  auto at = rd.host() + ":" + std::to_string(rd.port());
  for (const std::string& uri : std::vector<std::string>{
           "redis//:Kq7xWz8y@" + at + "/0", ":Kq7xWz8y@" + at + "/0",
           "redis:Kq7xWz8y@" + at + "/0", "redis://:Kq7xWz8y",
           "pgvector//storage:Kq7xWz8y@" + at + "/x"}) {
    for (auto args : std::vector<std::vector<std::string>>{
             {"cache", "get", "--store", uri, "k"},
             {"migrate", "--from", uri, "--to", "memory://"},
             {"verify", "--from", "memory://", "--to", uri},
             {"doctor", "--store", uri}}) {
      auto r = run(args);
      EXPECT_EQ(r.code, 1) << uri << ": " << r.err;
      EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
    }
  }
}

TEST_F(StorectlSecrets, ConfigFileReadableByOthersGetsAWarning) {
  auto config = dir_.path() + "/app.ini";
  std::ofstream(config) << "[stores]\nvectors=\"" << pg_odd_ << "\"\n";
  ::chmod(config.c_str(), 0644);
  auto r = run({"vector", "list", "--store", "vectors", "--config", config});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("storectl: warning: config file '" + config +
                       "' holds a password"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  // A failed command's stderr is its one error line (CLI.md), so the
  // warning waits for success (found by an outside audit). At the default
  // log level: this suite otherwise logs at debug, on stderr too.
  unsetenv("STORECTL_LOG");
  r = run({"vector", "count", "--store", "vectors", "--config", config,
           "--collection", "no_such_collection"});
  setenv("STORECTL_LOG", "debug", 1);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  ::chmod(config.c_str(), 0600);
  r = run({"vector", "list", "--store", "vectors", "--config", config});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  // Readable by others but without a password: nothing to warn about.
  std::ofstream(config, std::ios::trunc)
      << "[stores]\nvectors=\"faiss://" << dir_.path() << "/v\"\n";
  ::chmod(config.c_str(), 0644);
  r = run({"vector", "list", "--store", "vectors", "--config", config});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace storage::test
