// The soak: every backend in turn under N callers of random operations and a
// fault schedule — the server killed and restarted, frozen with SIGSTOP, its
// connections killed (CLIENT KILL, pg_terminate_backend), the store swapped
// to another pool and live-migrated to another backend mid-run — with every
// answer checked against the model of soak_model.hpp: no acknowledged write
// lost, no deleted record back, no request unanswered past its deadline,
// memory flat. STORAGE_SOAK_SECONDS (default 120) is the whole run's length,
// shared by the six backends; STORAGE_SOAK_CALLERS (default 8).
#include <signal.h>

#include <iostream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/server_support.hpp"
#include "soak_run.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::soak {
namespace {

using namespace std::chrono_literals;

std::string with(const std::string& uri, const std::string& kv) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + kv;
}

fault restart(const std::string& service) {
  return {"restart " + service, [service] {
            srv::services("stop " + service);
            std::this_thread::sleep_for(1s);
            srv::services("start " + service);
          }};
}

fault freeze(const std::string& name,
             std::function<std::vector<pid_t>()> pids) {
  return {"SIGSTOP " + name, [pids] {
            auto ps = pids();
            for (auto p : ps) ::kill(p, SIGSTOP);
            std::this_thread::sleep_for(1500ms);
            for (auto p : ps) ::kill(p, SIGCONT);
          }};
}

std::vector<pid_t> redis_pid() {
  auto info = srv::redis_cli("INFO server");
  auto at = info.find("process_id:");
  if (at == std::string::npos) return {};
  return {static_cast<pid_t>(std::stol(info.substr(at + 11)))};
}

fault swap_to(runtime& rt, const std::string& store, const std::string& uri) {
  return {"swap", [&rt, store, uri] { rt.swap(store, uri); }};
}

fault migrate_to(runtime& rt, const std::string& store,
                 const std::string& uri) {
  return {"live migration", [&rt, store, uri] {
            auto m = rt.migrate_live(store, uri);
            m.wait();  // cutover; throws if the migration failed
            m.finalize();
          }};
}

std::vector<slot> schedule(runtime& rt, const std::string& dir,
                           std::chrono::seconds total, unsigned callers) {
  const std::string t = "timeout_ms=2000";
  auto ns = "namespace=soak" + test::unique_token();
  auto redis = with(with(test::redis_uri(), t), ns);
  auto pg = with(test::pgvector_uri(), t);
  // A database of its own: the live migration copies every collection.
  auto chroma =
      with(with(test::chroma_uri(), t), "database=soak" + test::unique_token());
  auto memory = "memory://?" + t + "&pool=2";
  auto sqlite = "sqlite://" + dir + "/c.db?" + t + "&pool=2";
  auto faiss = "faiss://" + dir + "/f?" + t;
  std::vector<slot> out = {
      {"memory",
       memory,
       false,
       {migrate_to(rt, memory, "sqlite://" + dir + "/m.db?" + t)}},
      {"sqlite",
       sqlite,
       false,
       {swap_to(rt, sqlite, with(sqlite, "max_inflight=512")),
        migrate_to(rt, sqlite, "memory://?" + t)}},
      {"redis",
       redis,
       false,
       {{"CLIENT KILL", [] { srv::redis_cli("CLIENT KILL TYPE normal"); }},
        freeze("redis", redis_pid),
        restart("redis"),
        swap_to(rt, redis, with(redis, "pool=3")),
        migrate_to(rt, redis, with(with(test::redis_uri(), t), ns + "b"))}},
      {"faiss",
       faiss,
       true,
       {migrate_to(rt, faiss, "faiss://" + dir + "/f2?" + t)}},
      {"pgvector",
       pg,
       true,
       {{"pg_terminate_backend",
         [] {
           srv::psql(
               "SELECT count(pg_terminate_backend(pid)) FROM "
               "pg_stat_activity WHERE usename = current_user AND pid "
               "<> pg_backend_pid()");
         }},
        freeze("postgres backends", srv::pg_backends),
        restart("postgres"),
        swap_to(rt, pg, with(pg, "pool=3")),
        migrate_to(rt, pg, "faiss://" + dir + "/p?" + t)}},
      {"chroma",
       chroma,
       true,
       {restart("chroma"),
        migrate_to(rt, chroma, "faiss://" + dir + "/c?" + t)}},
  };
  for (auto& s : out) {
    s.length = total / out.size();
    s.callers = callers;
  }
  return out;
}

TEST(soak, faults_and_model_check) {
  auto total = std::chrono::seconds(
      std::stoi(test::env_or("STORAGE_SOAK_SECONDS", "120")));
  auto callers = static_cast<unsigned>(
      std::stoi(test::env_or("STORAGE_SOAK_CALLERS", "8")));
  auto dir = test::fresh_dir();
  runtime rt;
  tally sum;
  for (auto& s : schedule(rt, dir, total, callers)) {
    auto t = run_slot(rt, s);
    nlohmann::json line = {{"backend", s.backend},
                           {"seconds", s.length.count()},
                           {"callers", s.callers},
                           {"ops", t.ops},
                           {"failed", t.failed},
                           {"errors", t.errors},
                           {"faults", t.faults},
                           {"failed_faults", t.failed_faults},
                           {"violations", t.violations.size()},
                           {"rss_mib", rss_mib()}};
    std::cout << line.dump() << std::endl;
    for (auto& v : t.violations) ADD_FAILURE() << v;
    sum.ops += t.ops;
    sum.faults += t.faults;
    EXPECT_GT(t.ops, 0u) << s.backend;
    EXPECT_EQ(t.faults, s.faults.size()) << s.backend;
  }
  std::cout << nlohmann::json{{"total_ops", sum.ops},
                              {"total_faults", sum.faults}}
                   .dump()
            << std::endl;
}

}  // namespace
}  // namespace storage::soak
