// A live migration of a served store, driven by `storectl migrate --live`
// from its own process while two other client processes keep writing to
// the node: nothing acknowledged is lost, checked against a model of every
// client's acknowledged calls, and the clients never restart.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "runtime/remote_migration.hpp"
#include "runtime/runtime.hpp"
#include "support/served_node.hpp"
#include "support/servers.hpp"
#include "support/storectl_process.hpp"
#include "support/test_util.hpp"

namespace storage {
namespace {

using test::fresh_dir;

// A traffic child (support/node_traffic_child.cpp).
struct traffic {
  pid_t pid = -1;
  std::string log;

  traffic(const std::string& uri, const std::string& prefix,
          const std::string& dir) {
    log = dir + "/" + prefix + ".log";
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid = fork();
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      execl(NODE_TRAFFIC_CHILD_PATH, NODE_TRAFFIC_CHILD_PATH, uri.c_str(),
            prefix.c_str(), log.c_str(), nullptr);
      _exit(127);
    }
    close(fds[1]);
    char c = 0;
    std::string line;
    while (::read(fds[0], &c, 1) == 1 && c != '\n') line += c;
    close(fds[0]);
    EXPECT_EQ(line, "ready");
  }

  void stop() {
    ::kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "exit " << WEXITSTATUS(status) << " signal "
        << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
};

// What each key may hold after replaying `log`: the last acknowledged
// call's outcome, plus the outcome of any failed call after it (which may
// or may not have taken effect). "" stands for deleted.
void replay(const std::string& log,
            std::map<std::string, std::set<std::string>>& allowed) {
  std::ifstream in(log);
  std::string outcome, op, key, value;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    value.clear();
    l >> outcome >> op >> key;
    if (op == "set") l >> value;
    // Keys start absent.
    auto& a = allowed.try_emplace(key, std::set<std::string>{""}).first->second;
    if (outcome == "ok") a.clear();
    if (a.empty() && outcome == "ok") a.insert(value);
    if (outcome == "unknown") a.insert(value);
  }
}

TEST(node_live_migration,
     clients_keep_writing_while_another_process_moves_the_store) {
  auto dir = fresh_dir();
  auto ns = "nodelive" + test::unique_token();
  auto target = test::with_param(test::redis_uri(), "namespace=" + ns);
  test::served_node node({{"cache", "sqlite://" + dir + "/c.db"}});
  // Keys the source holds before anyone writes: the backfill's share.
  {
    runtime rt;
    auto c = rt.open_cache(node.uri("cache"));
    for (int i = 0; i < 300; ++i)
      test::await(c.set("pre" + std::to_string(i), std::to_string(i)));
  }
  traffic a(node.uri("cache"), "a", dir), b(node.uri("cache"), "b", dir);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  auto moved = test::storectl(
      {"migrate", "--live", "--from", node.uri("cache"), "--to", target});
  ASSERT_EQ(moved.code, 0) << moved.err << node.log();
  auto summary = moved.line();
  EXPECT_EQ(summary["state"], "done");
  EXPECT_EQ(summary["mirroring_back"], true);
  EXPECT_EQ(summary["verified"], true);
  EXPECT_NE(moved.err.find("progress"), std::string::npos)
      << "progress goes to stderr: " << moved.err;
  // The phase never goes back: the last progress line follows verification.
  auto last_progress = moved.err.rfind("{\"progress\"");
  ASSERT_NE(last_progress, std::string::npos) << moved.err;
  auto last_line = nlohmann::json::parse(moved.err.substr(
      last_progress, moved.err.find('\n', last_progress) - last_progress));
  EXPECT_EQ(last_line["progress"]["phase"], "verify") << moved.err;
  // A second migration while this one mirrors back is refused.
  auto again = test::storectl(
      {"migrate", "--live", "--from", node.uri("cache"), "--to", target});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("conflict"), std::string::npos) << again.err;

  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto fin = test::storectl(
      {"migrate", "--live", "--from", node.uri("cache"), "--finalize"});
  EXPECT_EQ(fin.code, 0) << fin.err;
  EXPECT_EQ(fin.line()["finalized"], true);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  a.stop();
  b.stop();

  std::map<std::string, std::set<std::string>> allowed;
  replay(a.log, allowed);
  replay(b.log, allowed);
  ASSERT_GT(allowed.size(), 50u) << "the clients barely wrote";
  for (int i = 0; i < 300; ++i)
    allowed["pre" + std::to_string(i)] = {std::to_string(i)};

  // The node now serves the target; both it and the target itself hold
  // what the model allows.
  runtime rt;
  auto served = rt.open_cache(node.uri("cache"));
  auto direct = rt.open_cache(target);
  for (auto& [key, ok] : allowed) {
    for (auto* c : {&served, &direct}) {
      auto got = test::await(c->get(key)).value_or("");
      EXPECT_TRUE(ok.count(got)) << key << " holds '" << got << "'";
    }
  }
  test::await(direct.clear());
}

TEST(node_live_migration, abort_after_cutover_from_outside_switches_back) {
  auto dir = fresh_dir();
  auto ns = "nodeabort" + test::unique_token();
  auto target = test::with_param(test::redis_uri(), "namespace=" + ns);
  test::served_node node({{"cache", "sqlite://" + dir + "/c.db"}});
  traffic a(node.uri("cache"), "a", dir);
  auto moved = test::storectl(
      {"migrate", "--live", "--from", node.uri("cache"), "--to", target});
  ASSERT_EQ(moved.code, 0) << moved.err;
  auto aborted = test::storectl(
      {"migrate", "--live", "--from", node.uri("cache"), "--abort"});
  ASSERT_EQ(aborted.code, 0) << aborted.err;
  EXPECT_EQ(aborted.line()["state"], "aborted");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  a.stop();
  std::map<std::string, std::set<std::string>> allowed;
  replay(a.log, allowed);
  // The source serves again and missed nothing written while the target did.
  runtime rt;
  auto source = rt.open_cache("sqlite://" + dir + "/c.db");
  for (auto& [key, ok] : allowed) {
    auto got = test::await(source.get(key)).value_or("");
    EXPECT_TRUE(ok.count(got)) << key << " holds '" << got << "'";
  }
  test::await(rt.open_cache(target).clear());
  // Nothing to finalize any more; a store nobody migrates is a clear error.
  auto none = test::storectl(
      {"migrate", "--live", "--from", node.uri("nope"), "--finalize"});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("no live migration"), std::string::npos) << none.err;
}

// A target the node cannot use: the error says so once (its code and
// operation came twice) and at once (invalid_argument is not retried), and
// a target that is the served store's own data is refused.
TEST(node_live_migration, a_bad_target_is_named_once) {
  auto dir = fresh_dir();
  auto source = "sqlite://" + dir + "/c.db";
  test::served_node node({{"cache", source}});
  auto bad = test::storectl({"migrate", "--live", "--from", node.uri("cache"),
                             "--to", "sqlite://" + dir + "/t.db?namespace="});
  EXPECT_EQ(bad.code, 1);
  // Progress lines first, then the error line.
  auto at = bad.err.find("storectl: error: invalid_argument: ");
  ASSERT_NE(at, std::string::npos) << bad.err;
  auto line = bad.err.substr(at);
  EXPECT_EQ(line.find("invalid_argument", 20), std::string::npos) << line;
  EXPECT_NE(line.find("namespace must not be empty"), std::string::npos)
      << line;
  EXPECT_EQ(line.find("attempts"), std::string::npos) << line;
  auto self = test::storectl({"migrate", "--live", "--from", node.uri("cache"),
                              "--to", source + "?pool=2"});
  EXPECT_EQ(self.code, 1);
  EXPECT_NE(self.err.find("is where this store's data is now"),
            std::string::npos)
      << self.err;
  // A live migration moves the whole store and journals itself: options
  // that only an offline copy has are refused, not ignored.
  for (auto extra : std::vector<std::vector<std::string>>{
           {"--collection", "docs"}, {"--checkpoint", dir + "/cp.json"}}) {
    std::vector<std::string> args{"migrate", "--live",
                                  "--from",  node.uri("cache"),
                                  "--to",    "sqlite://" + dir + "/t.db"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = test::storectl(args);
    EXPECT_EQ(r.code, 1) << extra[0];
    EXPECT_NE(r.err.find("storectl: error: invalid_argument: " + extra[0] +
                         " does not go with --live"),
              std::string::npos)
        << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/t.db"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/cp.json"));
}

// The node dies while a caller polls its live migration: the caller hears
// backend_unavailable within about a second, not a timeout at the store's
// deadline (10 s) for the request that was on its way when it died.
TEST(node_live_migration, a_node_killed_mid_migration_is_unavailable_at_once) {
  auto dir = fresh_dir();
  test::served_node node({{"cache", "sqlite://" + dir + "/c.db"}});
  {
    runtime rt;
    std::vector<cache_entry> entries;
    for (int i = 0; i < 20000; ++i)
      entries.push_back({"k" + std::to_string(i), "v", {}});
    test::await(rt.open_cache(node.uri("cache")).mset(entries));
  }
  runtime rt;
  remote_migration m(rt, node.uri("cache"));
  live_request req;
  req.target = "sqlite://" + dir + "/t.db";
  req.batch = 10;
  m.start(req);
  node.kill();
  auto start = std::chrono::steady_clock::now();
  try {
    for (;;) {
      m.progress();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::backend_unavailable) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

// A store whose live migration cut over in an earlier process: serve says
// where its data is now, in its ready line and in its log.
TEST(node_live_migration, serve_names_the_backend_a_moved_store_is_on) {
  auto dir = fresh_dir();
  auto a = "sqlite://" + dir + "/a.db";
  auto b = "sqlite://" + dir + "/b.db";
  {
    runtime rt;
    test::await(rt.open_cache(a).set("k", "v"));
    auto m = rt.migrate_live(a, b);
    m.wait();
    m.finalize();
  }
  test::served_node node({{"cache", a}});
  auto store = node.ready_line()["stores"][0];
  EXPECT_EQ(store["uri"], a);
  EXPECT_EQ(store["backend"], b);
  EXPECT_NE(node.log().find("served from " + b), std::string::npos)
      << node.log();
}

}  // namespace
}  // namespace storage
