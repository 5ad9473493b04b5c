// runtime::stats and the metrics endpoint against real backends: every
// answered request counted once under its operation, errors by the code the
// caller saw, the pool and its respawns, Redis pipelines and reconnects,
// counters that survive a swap, and a scrape that shows the same figures.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "actors/routing/cache_router.hpp"
#include "messages/store_uri.hpp"
#include "runtime/metrics_endpoint.hpp"
#include "runtime/runtime.hpp"
#include "support/http_get.hpp"
#include "support/odd_password.hpp"
#include "support/prometheus.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

const op_stats& op(const store_stats& s, const std::string& name) {
  for (auto& o : s.ops)
    if (o.op == name) return o;
  throw std::runtime_error("no operation " + name + " in the stats of " +
                           s.store);
}

std::uint64_t errors(const op_stats& o, const std::string& code) {
  auto it = o.errors.find(code);
  return it == o.errors.end() ? 0 : it->second;
}

// Every client connection of the Redis test server dropped, as a server
// restart or a network fault would.
void redis_cli(const std::string& args) {
  auto u = store_uri::parse(redis_uri());
  auto cmd = "redis-cli -h " + u.host() + " -p " + std::to_string(u.port()) +
             " " + args + " >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

void kill_redis_clients() {
  redis_cli("CLIENT KILL TYPE normal");
}

// Waits (up to 5 s) until the store's pool is published with every worker.
store_stats settled(runtime& rt, const std::string& name) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto s = rt.stats(name);
    if ((!s.workers.empty() && s.live_workers == s.workers.size()) ||
        std::chrono::steady_clock::now() > deadline)
      return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST(runtime_stats, counts_each_request_once_with_the_error_it_answered) {
  runtime rt;
  auto uri = "memory://stats" + unique_token() + "?pool=2";
  auto cache = rt.open_cache(uri);
  for (int i = 0; i < 50; ++i) await(cache.set("k" + std::to_string(i), "v"));
  for (int i = 0; i < 30; ++i) await(cache.get("k" + std::to_string(i)));
  // A request the backend refuses: incr of a value that is no integer.
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(
        fails_with(errc::type_mismatch, [&] { await(cache.incr("k1")); }));
  // Several keys over the two shards: the router splits it, and it still
  // counts once.
  EXPECT_EQ(await(cache.del({"k1", "k2", "k3", "k4"})), 4u);
  auto s = settled(rt, uri);
  EXPECT_EQ(s.store, redact_uri(uri));
  EXPECT_EQ(s.kind, "cache");
  EXPECT_EQ(s.workers.size(), 2u);
  EXPECT_EQ(s.live_workers, 2u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(op(s, "set").requests, 50u);
  EXPECT_EQ(op(s, "get").requests, 30u);
  EXPECT_EQ(op(s, "incr").requests, 4u);
  EXPECT_EQ(errors(op(s, "incr"), "type_mismatch"), 4u);
  EXPECT_EQ(op(s, "del").requests, 1u);
  auto& set = op(s, "set");
  EXPECT_GT(set.max, 0);
  EXPECT_LE(set.p50, set.p90);
  EXPECT_LE(set.p90, set.p99);
  EXPECT_LE(set.p99, set.max);
  EXPECT_TRUE(fails_with(errc::invalid_argument,
                         [&] { rt.stats("memory://never-opened"); }));
}

TEST(runtime_stats, counters_belong_to_the_store_across_a_swap) {
  runtime rt;
  auto uri = "memory://swapstats" + unique_token();
  auto cache = rt.open_cache(uri);
  for (int i = 0; i < 10; ++i) await(cache.set("a" + std::to_string(i), "v"));
  auto file = fresh_dir() + "/swapped.db";
  rt.swap(uri, "sqlite://" + file);
  for (int i = 0; i < 10; ++i) await(cache.set("b" + std::to_string(i), "v"));
  auto s = settled(rt, uri);
  EXPECT_EQ(op(s, "set").requests, 20u);
  EXPECT_EQ(s.backend.rfind("sqlite://", 0), 0u) << s.backend;
}

TEST(runtime_stats, respawned_workers_are_counted) {
  runtime rt;
  auto uri = "sqlite://" + fresh_dir() + "/respawn.db?pool=2";
  auto cache = rt.open_cache(uri);
  await(cache.set("k", "v"));
  caf::scoped_actor self{rt.system()};
  std::vector<caf::actor> ws;
  self->request(caf::actor_cast<cache_router_actor>(cache.actor()),
                caf::infinite, workers_atom::value)
      .receive([&](std::vector<caf::actor>& xs) { ws = std::move(xs); },
               [&](caf::error& e) { FAIL() << caf::to_string(e); });
  ASSERT_EQ(ws.size(), 2u);
  caf::anon_send_exit(ws[0], caf::exit_reason::kill);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (rt.stats(uri).respawns == 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(rt.stats(uri).respawns, 1u);
  auto s = settled(rt, uri);
  EXPECT_EQ(s.live_workers, 2u) << "the slot is filled again";
}

// `callers` threads each issue `each` gets of key_of(thread, i) without
// waiting, then wait for all; returns how many failed.
template <class KeyOf>
int burst_of_gets(cache_store& cache, int callers, int each, KeyOf key_of) {
  std::atomic<int> failed{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < callers; ++t)
    ts.emplace_back([&, t] {
      std::vector<std::future<std::optional<std::string>>> fs;
      for (int i = 0; i < each; ++i) fs.push_back(cache.get(key_of(t, i)));
      for (auto& f : fs) try {
          await(std::move(f));
        } catch (const std::exception&) {
          ++failed;
        }
    });
  for (auto& t : ts) t.join();
  return failed;
}

TEST(runtime_stats, redis_pipelines_and_reconnects) {
  runtime rt;
  auto uri = with_param(redis_uri(),
                        "pool=2&max_inflight=100000&namespace="
                        "stats" +
                            unique_token());
  auto cache = rt.open_cache(uri);
  await(cache.set("k", "v"));
  constexpr int callers = 16, each = 300;
  EXPECT_EQ(burst_of_gets(cache, callers, each,
                          [](int t, int i) {
                            return "k" + std::to_string((t * each + i) % 50);
                          }),
            0);
  auto s = rt.stats(uri);
  EXPECT_EQ(op(s, "get").requests, std::uint64_t{callers} * each);
  EXPECT_GT(s.batches, 0u) << "16 callers with 300 requests each in flight";
  EXPECT_GT(s.max_batch_depth, 1u);
  EXPECT_LE(s.batched_requests, op(s, "get").requests);
  EXPECT_EQ(s.reconnects, 0u);

  // The server drops every client while a set waits for its reply (held by
  // a pause of writes): that set fails and its worker's connection is
  // replaced -- the one reconnect the stats count. The other worker's
  // connection sat idle; the adapter finds it closed before using it and
  // replaces it itself, so no request fails for it (redis_cache.hpp).
  redis_cli("CLIENT PAUSE 3000 WRITE");
  std::thread killer([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    kill_redis_clients();
  });
  errc during = errc::ok;
  try {
    await(cache.set("during", "x"));
  } catch (const store_error& e) {
    during = e.code();
  }
  killer.join();
  redis_cli("CLIENT UNPAUSE");
  EXPECT_EQ(during, errc::backend_unavailable);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (int i = 0; i < 20; ++i)
    EXPECT_NO_THROW(await(cache.set("after", "x"))) << "set " << i;
  // Many at once, so that both workers serve some (the one that lost its
  // connection makes its adapter again only when it gets a request).
  EXPECT_EQ(burst_of_gets(cache, callers, 50,
                          [](int, int) { return std::string("after"); }),
            0);
  s = rt.stats(uri);
  EXPECT_EQ(s.reconnects, 1u);
  EXPECT_EQ(op(s, "set").requests, 1u + 1 + 20);
  EXPECT_EQ(errors(op(s, "set"), "backend_unavailable"), 1u);
}

// pgvector and Chroma make their adapter without reaching the server: a
// request that fails there is no lost connection, and the next adapter is
// no reconnect until a request succeeds on it.
TEST(runtime_stats, a_server_never_reached_counts_no_reconnect) {
  runtime rt;
  for (std::string uri :
       {"pgvector://storage:x@127.0.0.1:1/storage_test?timeout_ms=3000",
        "chroma://127.0.0.1:1?timeout_ms=3000"}) {
    auto vs = rt.open_vector(uri);
    for (int i = 0; i < 4; ++i)
      EXPECT_TRUE(fails_with(errc::backend_unavailable,
                             [&] { await(vs.count("docs")); }))
          << uri << " call " << i;
    auto s = rt.stats(uri);
    EXPECT_EQ(s.reconnects, 0u) << uri;
    EXPECT_EQ(errors(op(s, "count"), "backend_unavailable"), 4u) << uri;
  }
}

TEST(runtime_stats, pgvector_operations_and_a_scrape_of_the_same_figures) {
  runtime rt;
  auto vs = rt.open_vector(pgvector_uri());
  auto c = "stats_" + unique_token();
  await(vs.create_collection({c, 4, metric::l2}));
  for (int i = 0; i < 5; ++i)
    await(vs.upsert(
        c,
        {{"id" + std::to_string(i), {float(i), 0, 0, 1}, {}, std::nullopt}}));
  search_request q;
  q.query = {1, 0, 0, 1};
  q.k = 3;
  for (int i = 0; i < 7; ++i) EXPECT_EQ(await(vs.search(c, q)).size(), 3u);
  EXPECT_TRUE(fails_with(errc::dimension_mismatch, [&] {
    await(vs.upsert(c, {{"bad", {1, 2}, {}, std::nullopt}}));
  }));
  await(vs.drop_collection(c));

  metrics_endpoint endpoint(rt, "0");
  EXPECT_EQ(endpoint.host(), "127.0.0.1") << "loopback by default";
  auto res = http_get("127.0.0.1", endpoint.port(), "/metrics");
  EXPECT_EQ(res.status, 200);
  EXPECT_NE(res.headers["content-type"].find("version=0.0.4"),
            std::string::npos);
  auto x = parse_prometheus(res.body);
  auto s = rt.stats(pgvector_uri());
  std::map<std::string, std::string> labels{{"store", s.store},
                                            {"kind", "vector"}};
  auto with = [&](const std::string& o) {
    auto l = labels;
    l["op"] = o;
    return l;
  };
  EXPECT_EQ(op(s, "upsert").requests, 6u);
  EXPECT_EQ(errors(op(s, "upsert"), "dimension_mismatch"), 1u);
  EXPECT_EQ(op(s, "search").requests, 7u);
  EXPECT_EQ(x.value("storage_requests_total", with("upsert")), 6);
  EXPECT_EQ(x.value("storage_requests_total", with("search")), 7);
  EXPECT_EQ(x.value("storage_requests_total", with("create")), 1);
  auto err = with("upsert");
  err["code"] = "dimension_mismatch";
  EXPECT_EQ(x.value("storage_request_errors_total", err), 1);
  EXPECT_EQ(x.value("storage_request_duration_seconds_count", with("search")),
            7);
  EXPECT_EQ(x.value("storage_pool_workers", labels),
            static_cast<double>(s.workers.size()));
  EXPECT_EQ(s.store.find("storage-secret"), std::string::npos) << s.store;
  EXPECT_EQ(res.body.find("storage-secret"), std::string::npos);

  EXPECT_TRUE(fails_with(errc::invalid_argument,
                         [&] { metrics_endpoint bad(rt, "127.0.0.1:http"); }));
  EXPECT_TRUE(fails_with(errc::backend_unavailable, [&] {
    metrics_endpoint taken(rt, std::to_string(endpoint.port()));
  }));
}

// A password with '@', '/' and '?' (percent-encoded in the URI) once made
// stats() and the scrape fail for every store: they parsed the identity,
// which holds the decoded password, as a URI again.
TEST(runtime_stats, stores_whose_passwords_hold_uri_characters_are_listed) {
  runtime rt;
  auto pg = odd_pgvector_uri();
  auto rd = odd_redis_uri("stats" + unique_token());
  ASSERT_FALSE(rd.empty());
  auto vs = rt.open_vector(pg);
  auto cs = rt.open_cache(rd);
  await(cs.set("k", "v"));
  for (int i = 0; i < 2; ++i) await(vs.list_collections());

  auto all = rt.stats();
  ASSERT_EQ(all.size(), 2u);
  for (auto& s : all) {
    expect_hidden(s.store, "stats()");
    EXPECT_NE(s.store.find("storage_odd:***@"), std::string::npos) << s.store;
  }
  EXPECT_EQ(op(rt.stats(rd), "set").requests, 1u);
  EXPECT_EQ(op(rt.stats(pg), "list").requests, 2u);

  metrics_endpoint endpoint(rt, "0");
  auto res = http_get("127.0.0.1", endpoint.port(), "/metrics");
  EXPECT_EQ(res.status, 200) << res.body;
  expect_hidden(res.body, "/metrics");
  auto x = parse_prometheus(res.body);
  EXPECT_EQ(x.value("storage_requests_total", {{"store", rt.stats(rd).store},
                                               {"kind", "cache"},
                                               {"op", "set"}}),
            1);
}

bool hides_both(const char* a, const char* b, const std::string& text) {
  return text.find(a) == std::string::npos && text.find(b) == std::string::npos;
}

// Two stores whose URIs differ only in their password are redacted alike;
// a scrape must still name each series once (Prometheus rejects the whole
// page otherwise).
TEST(runtime_stats, stores_redacted_alike_keep_apart_in_a_scrape) {
  runtime rt;
  auto plain = redis_uri();
  ASSERT_EQ(plain.rfind("redis://", 0), 0u) << plain;
  auto with_password = [&](const std::string& pw) {
    return "redis://:" + pw + "@" + plain.substr(8) + "?namespace=alike";
  };
  auto first = rt.open_cache(with_password("first-pw"));
  auto second = rt.open_cache(with_password("second-pw"));
  auto all = rt.stats();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].store, all[0].store + " (2)");
  EXPECT_TRUE(hides_both("first-pw", "second-pw", all[0].store + all[1].store));
  metrics_endpoint endpoint(rt, "0");
  auto res = http_get("127.0.0.1", endpoint.port(), "/metrics");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(hides_both("first-pw", "second-pw", res.body));
  auto x = parse_prometheus(res.body);  // throws on a series given twice
  EXPECT_EQ(x.find("storage_pool_workers").size(), 2u);
}

}  // namespace
}  // namespace storage::test
