// `storectl serve` and storectl's commands against caf:// stores: the same
// words and output as against a local store, the refusals the contract
// asks for, secrets kept out of logs, and a clean stop.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "messages/interfaces.hpp"
#include "messages/node_protocol.hpp"
#include "runtime/runtime.hpp"
#include "support/served_node.hpp"
#include "support/servers.hpp"
#include "support/storectl_process.hpp"
#include "support/test_util.hpp"

namespace storage {
namespace {

using test::fresh_dir;
using test::storectl;

std::map<std::string, std::string> local_stores(const std::string& dir) {
  return {{"cache", "sqlite://" + dir + "/c.db"},
          {"vectors", "faiss://" + dir + "/faiss"}};
}

TEST(node_serve, storectl_commands_work_unchanged_against_caf_stores) {
  auto dir = fresh_dir();
  test::served_node node(local_stores(dir));
  auto vs = node.uri("vectors");
  auto cs = node.uri("cache");

  EXPECT_EQ(storectl({"vector", "create", "--store", vs, "--collection", "docs",
                      "--dim", "2", "--metric", "l2"})
                .line(),
            nlohmann::json::parse(R"({"created":"docs"})"));
  auto up =
      storectl({"vector", "upsert", "--store", vs, "--collection", "docs"},
               "{\"id\":\"a\",\"embedding\":[0,0],\"metadata\":{\"n\":1}}\n"
               "{\"id\":\"b\",\"embedding\":[3,4],\"document\":\"far\"}\n");
  EXPECT_EQ(up.line(), nlohmann::json::parse(R"({"upserted":2})")) << up.err;
  auto hits = storectl({"vector", "search", "--store", vs, "--collection",
                        "docs", "--vector", "[3,4]", "-k", "2"})
                  .lines();
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0]["id"], "b");
  EXPECT_EQ(hits[0]["document"], "far");
  EXPECT_EQ(hits[1]["metadata"], nlohmann::json::parse(R"({"n":1})"));
  EXPECT_EQ(storectl({"vector", "count", "--store", vs, "--collection", "docs"})
                .line(),
            nlohmann::json::parse(R"({"count":2})"));
  auto list = storectl({"vector", "list", "--store", vs}).line();
  EXPECT_EQ(list["name"], "docs");
  EXPECT_EQ(list["dimension"], 2);

  EXPECT_EQ(
      storectl({"cache", "set", "--store", cs, "k", "v", "--ttl", "60000"})
          .line(),
      nlohmann::json::parse(R"({"ok":true})"));
  EXPECT_EQ(storectl({"cache", "get", "--store", cs, "k"}).line(),
            nlohmann::json::parse(R"({"key":"k","value":"v"})"));
  EXPECT_EQ(storectl({"cache", "incr", "--store", cs, "n", "--by", "5"}).line(),
            nlohmann::json::parse(R"({"value":5})"));
  auto keys = storectl({"cache", "keys", "--store", cs}).lines();
  EXPECT_EQ(keys.size(), 2u);

  // A name from the config file works as it does for local stores.
  auto cfg = dir + "/client.ini";
  std::ofstream(cfg) << "[stores]\nremote=\"" << cs << "\"\n";
  EXPECT_EQ(
      storectl({"cache", "get", "--store", "remote", "--config", cfg, "k"})
          .line(),
      nlohmann::json::parse(R"({"key":"k","value":"v"})"));
}

TEST(node_serve, wrong_kind_and_unknown_names_are_clear_errors) {
  auto dir = fresh_dir();
  test::served_node node(local_stores(dir));
  auto r = storectl({"cache", "get", "--store", node.uri("vectors"), "k"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is a vector store, not a cache"), std::string::npos)
      << r.err;
  r = storectl({"cache", "get", "--store", node.uri("nope"), "k"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("serves no store named 'nope'"), std::string::npos)
      << r.err;
  r = storectl({"cache", "get", "--store", "caf://127.0.0.1/x", "k"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("host:port"), std::string::npos) << r.err;
}

TEST(node_serve, passwords_stay_out_of_the_log_and_the_directory) {
  auto dir = fresh_dir();
  test::served_node node(
      {{"pg", test::pgvector_uri()}, {"cache", "sqlite://" + dir + "/c.db"}});
  std::string password = "storage-secret";
  ASSERT_NE(test::pgvector_uri().find(password), std::string::npos)
      << "the test expects the password of scripts/services.sh";
  auto line = node.ready_line().dump();
  EXPECT_EQ(line.find(password), std::string::npos) << line;
  EXPECT_NE(line.find("***"), std::string::npos) << line;
  // One log line per store, with the redacted URI.
  auto log = node.log();
  EXPECT_EQ(log.find(password), std::string::npos) << log;
  EXPECT_NE(log.find("serving vector store 'pg'"), std::string::npos) << log;
  EXPECT_NE(log.find("serving cache store 'cache'"), std::string::npos) << log;
  EXPECT_NE(log.find("storectl: warning: config file '" + node.config_path() +
                     "' holds a password"),
            std::string::npos)
      << log;
  // The served store works, and its errors name it without the password.
  auto r = storectl({"vector", "count", "--store", node.uri("pg"),
                     "--collection", "no_such_collection_here"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("collection_not_found"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(password), std::string::npos) << r.err;
}

// A caller matches an error to the handle it used: through a node, errors
// name the caf:// store as vector_store::name() does, not the node's own URI
// for it (a path on the node, or a server's address). Found by an outside
// audit.
TEST(node_serve, errors_name_the_store_as_the_client_opened_it) {
  auto dir = fresh_dir();
  test::served_node node({{"vectors", "faiss://" + dir + "/v"},
                          {"cache", "sqlite://" + dir + "/c.db"}});
  auto error_of = [](auto call) {
    try {
      test::await(call());
    } catch (const store_error& e) {
      return e;
    }
    return store_error(errc::ok, "nothing thrown");
  };
  runtime rt;
  auto vs = rt.open_vector(node.uri("vectors") + "?timeout_ms=5000");
  EXPECT_EQ(vs.name(), node.uri("vectors") + "?timeout_ms=5000");
  auto e = error_of([&] { return vs.count("no_such_collection"); });
  EXPECT_EQ(e.code(), errc::collection_not_found) << e.what();
  EXPECT_EQ(e.store(), vs.name());
  EXPECT_EQ(e.operation(), "count");
  EXPECT_EQ(std::string(e.what()).find(dir), std::string::npos) << e.what();
  EXPECT_NE(e.message().find("no_such_collection"), std::string::npos)
      << e.message();
  auto cache = rt.open_cache(node.uri("cache"));
  test::await(cache.set("k", "text"));
  e = error_of([&] { return cache.incr("k"); });
  EXPECT_EQ(e.code(), errc::type_mismatch) << e.what();
  EXPECT_EQ(e.store(), cache.name());
  EXPECT_EQ(std::string(e.what()).find(dir), std::string::npos) << e.what();
}

// The warning is storectl's own line on stderr, not a log line a [log]
// section can silence or send to a file.
TEST(node_serve, a_silenced_log_keeps_the_password_file_warning) {
  test::served_node node({{"pg", test::pgvector_uri()}},
                         "[log]\nlevel=\"off\"\n");
  auto log = node.log();
  EXPECT_NE(log.find("storectl: warning: config file '" + node.config_path() +
                     "' holds a password"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("storage-secret"), std::string::npos) << log;
}

// A process that runs for months (or dies of SIGKILL) must not keep its
// log lines in a buffer.
TEST(node_serve, a_log_file_gets_each_line_while_the_node_runs) {
  auto dir = fresh_dir();
  auto file = dir + "/node.log";
  test::served_node node({{"cache", "sqlite://" + dir + "/c.db"}},
                         "[log]\nfile=\"" + file + "\"\n");
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("serving cache store 'cache'"), std::string::npos)
      << "while serving: '" << text << "'";
}

TEST(node_serve, non_loopback_bind_needs_tls_or_insecure) {
  auto dir = fresh_dir();
  auto cfg = dir + "/node.ini";
  std::ofstream(cfg) << "[stores]\ncache=\"sqlite://" << dir << "/c.db\"\n";
  auto refused = test::serve_expecting_exit(
      {"serve", "--config", cfg, "--bind", "0.0.0.0", "--port", "0"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("needs TLS"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--insecure"), std::string::npos) << refused.err;

  test::served_node open({{"cache", "sqlite://" + dir + "/c.db"}}, "",
                         {"--bind", "0.0.0.0", "--insecure"});
  EXPECT_NE(open.log().find("without TLS"), std::string::npos) << open.log();
  EXPECT_EQ(
      storectl({"cache", "set", "--store", open.uri("cache"), "a", "1"}).code,
      0);
}

// An IPv6 node is named as URIs name one, in brackets: in what serve
// prints and logs, and in the caf:// URI a client connects with.
TEST(node_serve, an_ipv6_node_is_reached_by_its_bracketed_address) {
  auto dir = fresh_dir();
  test::served_node node({{"cache", "sqlite://" + dir + "/c.db"}}, "",
                         {"--bind", "::1"});
  auto serving = node.ready_line().at("serving").get<std::string>();
  EXPECT_EQ(serving, "[::1]:" + std::to_string(node.port()));
  auto uri = "caf://[::1]:" + std::to_string(node.port()) + "/cache";
  EXPECT_NE(node.log().find("as " + uri), std::string::npos) << node.log();
  auto set = storectl({"cache", "set", "--store", uri, "a", "1"});
  EXPECT_EQ(set.code, 0) << set.err;
  EXPECT_EQ(storectl({"cache", "get", "--store", uri, "a"}).line(),
            nlohmann::json::parse(R"({"key":"a","value":"1"})"));
}

TEST(node_serve, sigterm_stops_cleanly_and_keeps_acknowledged_writes) {
  auto dir = fresh_dir();
  test::served_node node(local_stores(dir));
  runtime rt;
  auto cache = rt.open_cache(node.uri("cache"));
  for (int i = 0; i < 50; ++i)
    test::await(cache.set("k" + std::to_string(i), std::to_string(i)));
  EXPECT_EQ(node.terminate(), 0) << node.log();
  EXPECT_NE(node.log().find("SIGTERM: stopping"), std::string::npos);
  node.restart();
  auto restarted =
      storectl({"cache", "get", "--store", node.uri("cache"), "k49"});
  EXPECT_EQ(restarted.line(),
            nlohmann::json::parse(R"({"key":"k49","value":"49"})"));
}

// A node holds what it announces: a second node, or a process of its own,
// on the same faiss:// directory (two shards) is refused when it starts, not
// at its first request.
TEST(node_serve, a_served_faiss_directory_is_held_from_the_start) {
  auto dir = fresh_dir();
  auto uri = "faiss://" + dir + "/v?pool=2";
  test::served_node first({{"vectors", uri}});
  auto cfg = dir + "/second.ini";
  std::ofstream(cfg) << "[stores]\nvectors=\"" << uri << "\"\n";
  auto second =
      test::serve_expecting_exit({"serve", "--config", cfg, "--port", "0"});
  EXPECT_EQ(second.code, 1) << second.err;
  EXPECT_NE(second.err.find("error: conflict"), std::string::npos)
      << second.err;
  EXPECT_NE(second.err.find(std::to_string(first.pid())), std::string::npos)
      << "names the holder: " << second.err;
  auto direct = storectl({"vector", "list", "--store", uri});
  EXPECT_EQ(direct.code, 1);
  EXPECT_NE(direct.err.find("error: conflict"), std::string::npos)
      << direct.err;
  EXPECT_EQ(storectl({"vector", "create", "--store", first.uri("vectors"),
                      "--collection", "abc", "--dim", "2"})
                .code,
            0);
}

TEST(node_serve, a_config_without_stores_is_refused) {
  auto dir = fresh_dir();
  auto cfg = dir + "/empty.ini";
  std::ofstream(cfg) << "[openssl]\n";
  auto r =
      test::serve_expecting_exit({"serve", "--config", cfg, "--port", "0"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("nothing to serve"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace storage

namespace storage {
namespace {

// Messages of a megabyte and more cross the link like small ones.
TEST(node_serve, large_batches_cross_the_link) {
  auto dir = fresh_dir();
  test::served_node node(local_stores(dir));
  runtime rt;
  auto cache = rt.open_cache(node.uri("cache"));
  std::vector<cache_entry> entries;
  for (int i = 0; i < 10000; ++i)
    entries.push_back({"key:" + std::to_string(i), std::string(100, 'v'), {}});
  test::await(cache.mset(entries));
  auto page = test::await(cache.scan("", 20000));
  EXPECT_EQ(page.entries.size(), 10000u);
  auto vectors = rt.open_vector(node.uri("vectors"));
  test::await(vectors.create_collection({"big", 128, metric::l2}));
  std::vector<vector_record> recs;
  for (int i = 0; i < 5000; ++i)
    recs.push_back({"r" + std::to_string(i),
                    std::vector<float>(128, 0.5f * i),
                    {},
                    std::string(64, 'd')});
  EXPECT_EQ(test::await(vectors.upsert("big", recs)), 5000u);
  EXPECT_EQ(test::await(vectors.count("big")), 5000u);
  auto back = test::await(vectors.get("big", {"r4999"}));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0], recs.back());
}

}  // namespace
}  // namespace storage

namespace storage {
namespace {

// Many callers of one process share the node link; each keeps its own
// order and every call is answered.
TEST(node_serve, thirty_two_callers_share_the_link) {
  auto ns = "nodemany" + test::unique_token();
  test::served_node node(
      {{"cache",
        test::with_param(test::redis_uri(), "pool=4&namespace=" + ns)}});
  runtime rt;
  auto cache = rt.open_cache(node.uri("cache"));
  std::vector<cache_entry> all;
  for (int k = 0; k < 10000; ++k)
    all.push_back({"key:" + std::to_string(k), std::string(100, 'v'), {}});
  test::await(cache.mset(all));
  std::atomic<int> failures{0};
  // Rounds of fresh threads: every thread is a new caller with a new relay.
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> callers;
    for (int t = 0; t < 32; ++t)
      callers.emplace_back([&, t] {
        auto key = "c" + std::to_string(t);
        for (int i = 0; i < 300; ++i) {
          try {
            cache.set(key, std::to_string(i)).get();
            if (cache.get(key).get() != std::to_string(i)) ++failures;
            if (!cache
                     .get("key:" +
                          std::to_string((i * 7919 + t * 104729) % 10000))
                     .get())
              ++failures;
          } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
            ++failures;
            return;
          }
        }
      });
    for (auto& c : callers) c.join();
  }
  EXPECT_EQ(failures, 0);
  test::await(cache.clear());
}

// Calls a thread issues without waiting reach the node in batches, mixed
// with other threads' calls (remote_link.hpp); they still take effect in
// the order the thread issued them, on a node store with several workers.
TEST(node_serve, unawaited_calls_keep_their_order_across_batches) {
  auto ns = "nodeorder" + test::unique_token();
  test::served_node node(
      {{"cache",
        test::with_param(test::redis_uri(), "pool=4&namespace=" + ns)}});
  runtime rt;
  auto cache = rt.open_cache(node.uri("cache"));
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 16; ++t)
    callers.emplace_back([&, t] {
      auto key = "o" + std::to_string(t);
      for (int round = 0; round < 50; ++round) {
        std::vector<std::future<void>> sets;
        for (int i = 0; i < 20; ++i)
          sets.push_back(cache.set(key, std::to_string(round * 100 + i)));
        auto last = cache.get(key);
        auto gone = cache.del({key});
        auto after = cache.get(key);
        try {
          for (auto& s : sets) s.get();
          if (last.get() != std::to_string(round * 100 + 19)) ++failures;
          if (gone.get() != 1u) ++failures;
          if (after.get()) ++failures;
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
          ++failures;
          return;
        }
      }
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(failures, 0);
  test::await(cache.clear());
}

// An actor application that greets the node's directory, looks a store up
// and sends it requests one message each is served as before, next to
// clients that send batches.
TEST(node_serve, the_directorys_handle_takes_single_requests) {
  auto dir = fresh_dir();
  test::served_node node(local_stores(dir));
  runtime rt;
  auto directory = rt.system().middleman().remote_actor<node_directory_actor>(
      "127.0.0.1", node.port());
  ASSERT_TRUE(directory) << rt.system().render(directory.error());
  caf::scoped_actor self{rt.system()};
  self->request(*directory, std::chrono::seconds(10), nhello_atom::value,
                node_protocol_version)
      .receive([](std::uint32_t) {},
               [&](caf::error& e) { FAIL() << rt.system().render(e); });
  caf::strong_actor_ptr handle;
  self->request(*directory, std::chrono::seconds(10), nlookup_atom::value,
                std::string("cache"))
      .receive([&](caf::strong_actor_ptr& h,
                   served_store&) { handle = std::move(h); },
               [&](caf::error& e) { FAIL() << rt.system().render(e); });
  ASSERT_TRUE(handle);
  auto cache = caf::actor_cast<cache_store_actor>(handle);
  bool stored = false;
  self->request(cache, std::chrono::seconds(10), cset_atom::value,
                cache_entry{"plain", "one message", {}})
      .receive([&](bool ok) { stored = ok; },
               [&](caf::error& e) { FAIL() << rt.system().render(e); });
  EXPECT_TRUE(stored);
  // A batching client sees it, and the single request sees the client's.
  auto batched = rt.open_cache(node.uri("cache"));
  EXPECT_EQ(test::await(batched.get("plain")), "one message");
  test::await(batched.set("batched", "yes"));
  maybe_value got;
  self->request(cache, std::chrono::seconds(10), cget_atom::value,
                std::string("batched"))
      .receive([&](maybe_value& v) { got = std::move(v); },
               [&](caf::error& e) { FAIL() << rt.system().render(e); });
  EXPECT_TRUE(got.found);
  EXPECT_EQ(got.value, "yes");
}

}  // namespace
}  // namespace storage
