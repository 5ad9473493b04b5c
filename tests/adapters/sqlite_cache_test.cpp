#include "adapters/sqlite/sqlite_cache.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "adapters/cache_rules.hpp"
#include "adapters/factories.hpp"
#include "messages/limits.hpp"
#include "messages/store_uri.hpp"

namespace storage::testing {
namespace {

namespace fs = std::filesystem;

// A fresh directory under /tmp, removed at exit.
class temp_dir {
 public:
  temp_dir() {
    char tmpl[] = "/tmp/sqlite_cache_test.XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  // A new file name on every call, so repeated runs start from empty files.
  std::string file(const std::string& name) {
    return path_ + "/" + std::to_string(++files_) + "-" + name;
  }

 private:
  std::string path_;
  int files_ = 0;
};

temp_dir& dir() {
  static temp_dir d;
  return d;
}

std::unique_ptr<cache_backend> open(const std::string& path,
                                    const std::string& query = "") {
  return make_sqlite_cache(store_uri::parse("sqlite://" + path + query), 0, 1);
}

INSTANTIATE_TEST_SUITE_P(
    sqlite, cache_rules,
    ::testing::Values(cache_factory{
        "sqlite", [] { return open(dir().file("rules.db"), "?namespace=t"); }}),
    [](const auto& info) { return info.param.name; });

TEST(sqlite_cache, is_shared_not_in_process) {
  EXPECT_FALSE(open(dir().file("caps.db"))->capabilities().in_process);
}

TEST(sqlite_cache, rejects_bad_uris) {
  auto db = dir().file("uri.db");
  EXPECT_EQ(code_of([&] { open(db, "?bogus=1"); }), errc::invalid_argument);
  EXPECT_EQ(code_of([&] { open(db, "?namespace="); }), errc::invalid_argument);
  EXPECT_EQ(code_of([&] { open(db, "?busy_timeout_ms=0"); }),
            errc::invalid_argument);
  EXPECT_EQ(code_of([&] { open(""); }), errc::invalid_argument);
  EXPECT_EQ(code_of([&] {
              make_sqlite_cache(store_uri::parse("sqlite://host/x.db"), 0, 1);
            }),
            errc::invalid_argument);
  EXPECT_EQ(code_of([&] { open(db, "?pool=4&timeout_ms=9&max_inflight=3"); }),
            errc::ok);
}

TEST(sqlite_cache, unopenable_file_is_backend_unavailable) {
  try {
    make_sqlite_cache(store_uri::parse("sqlite://u:s3cret@/no/such/dir/x.db"),
                      0, 1);
    FAIL() << "opened a file in a missing directory";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::backend_unavailable);
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("directory /no/such/dir does not "
                                         "exist"),
              std::string::npos)
        << e.what();
  }
}

TEST(sqlite_cache, clear_spares_sibling_namespaces) {
  auto db = dir().file("siblings.db");
  auto app = open(db, "?namespace=app");
  auto app2 = open(db, "?namespace=app2");
  auto appx = open(db, "?namespace=app:x");
  auto def = open(db);
  for (auto* c : {app.get(), app2.get(), appx.get(), def.get()})
    for (int i = 0; i < 5; ++i)
      c->set("k" + std::to_string(i), "v", std::nullopt);
  app->set("other", "v", std::nullopt);
  EXPECT_EQ(app->clear(), 6u);
  EXPECT_TRUE(scan_all(*app, 10).empty());
  EXPECT_EQ(scan_all(*app2, 10).size(), 5u);
  EXPECT_EQ(scan_all(*appx, 10).size(), 5u);
  EXPECT_EQ(scan_all(*def, 2).size(), 5u);
  EXPECT_EQ(app2->get("k0"), "v");
  EXPECT_FALSE(app->exists("k0"));
}

TEST(sqlite_cache, namespaces_do_not_see_each_other) {
  auto db = dir().file("ns.db");
  auto a = open(db, "?namespace=a");
  auto b = open(db, "?namespace=b");
  a->set("k", "from a", std::nullopt);
  EXPECT_EQ(b->get("k"), std::nullopt);
  EXPECT_TRUE(b->add("k", "from b", std::nullopt));
  EXPECT_EQ(a->incr("n", 2), 2);
  EXPECT_EQ(b->incr("n", 5), 5);
  EXPECT_EQ(a->del({"k"}), 1u);
  EXPECT_EQ(b->get("k"), "from b");
}

TEST(sqlite_cache, two_connections_see_each_others_writes) {
  auto db = dir().file("shared.db");
  auto w1 = open(db, "?namespace=s");
  auto w2 = open(db, "?namespace=s");
  w1->set("k", "1", std::nullopt);
  EXPECT_EQ(w2->get("k"), "1");
  EXPECT_FALSE(w2->add("k", "2", std::nullopt));
  EXPECT_EQ(w2->incr("k", 1), 2);
  EXPECT_EQ(w1->get("k"), "2");
  EXPECT_TRUE(w2->expire("k", 60000));
  EXPECT_TRUE(w1->ttl("k").ttl);
  EXPECT_EQ(w1->del({"k"}), 1u);
  EXPECT_FALSE(w2->exists("k"));
}

TEST(sqlite_cache, concurrent_connections_lose_no_increment) {
  auto db = dir().file("contended.db");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      auto c = open(db);
      for (int i = 0; i < 200; ++i) c->incr("n", 1);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(open(db)->get("n"), "800");
}

TEST(sqlite_cache, ttl_survives_reopening) {
  auto db = dir().file("reopen.db");
  open(db)->set("k", "v", 60000);
  open(db)->set("short", "v", 60);
  auto c = open(db);
  auto t = c->ttl("k");
  ASSERT_TRUE(t.ttl);
  EXPECT_GT(*t.ttl, 50000);
  sleep_ms(150);
  EXPECT_FALSE(c->exists("short"));
}

// A file of an older version may hold an expiry far past max_ttl_ms (it
// saturated at INT64_MAX): read back, the TTL is at most the limit, so a
// migration can write it to a store that checks it.
TEST(sqlite_cache, a_ttl_read_back_is_at_most_the_limit) {
  auto db = dir().file("legacy.db");
  auto c = open(db);
  c->set("far", "v", 60000);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(raw, "UPDATE cache SET expires_at = 9223372036854775807",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(raw);
  auto t = c->ttl("far");
  ASSERT_TRUE(t.ttl);
  EXPECT_EQ(*t.ttl, max_ttl_ms);
  auto page = c->scan("", 10);
  ASSERT_EQ(page.entries.size(), 1u);
  ASSERT_TRUE(page.entries[0].ttl);
  EXPECT_EQ(*page.entries[0].ttl, max_ttl_ms);
}

TEST(sqlite_cache, held_lock_times_out_instead_of_hanging) {
  auto db = dir().file("locked.db");
  auto c = open(db, "?busy_timeout_ms=200");
  c->set("k", "v", std::nullopt);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of([&] { c->set("k", "w", std::nullopt); }), errc::timeout);
  EXPECT_EQ(code_of([&] { c->incr("n", 1); }), errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(c->get("k"), "v");  // readers are not blocked under WAL
  sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  c->set("k", "w", std::nullopt);
  EXPECT_EQ(c->get("k"), "w");
}

TEST(sqlite_cache, expired_rows_are_swept_on_writes) {
  auto db = dir().file("sweep.db");
  auto c = open(db);
  for (int i = 0; i < 100; ++i) c->set("t" + std::to_string(i), "v", 30);
  sleep_ms(80);
  for (int i = 0; i < 300; ++i) c->set("live", std::to_string(i), std::nullopt);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(raw, "SELECT count(*) FROM cache", -1, &s, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s, 0), 1);
  sqlite3_finalize(s);
  sqlite3_close(raw);
}

// A child process writes and reports each acknowledged key through a pipe,
// then is killed without warning; every reported key must be in the file.
TEST(sqlite_cache, acknowledged_writes_survive_sigkill) {
  auto db = dir().file("durable.db");
  open(db)->set("before", "x", std::nullopt);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child must never return into the test runner.
    close(fds[0]);
    try {
      auto c = open(db);
      for (int i = 0;; ++i) {
        c->set("k" + std::to_string(i), std::to_string(i), std::nullopt);
        if (write(fds[1], &i, sizeof i) != sizeof i) _exit(1);
      }
    } catch (...) {
      _exit(2);
    }
  }
  close(fds[1]);
  int last = -1, n = 0;
  while (last < 200 && read(fds[0], &n, sizeof n) == sizeof n) last = n;
  kill(pid, SIGKILL);
  // Acknowledgements still in the pipe were written before the kill too.
  while (read(fds[0], &n, sizeof n) == sizeof n) last = n;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_GE(last, 200);
  auto c = open(db);
  for (int i = 0; i <= last; ++i)
    ASSERT_EQ(c->get("k" + std::to_string(i)), std::to_string(i)) << i;
  EXPECT_EQ(c->get("before"), "x");
}

}  // namespace
}  // namespace storage::testing
