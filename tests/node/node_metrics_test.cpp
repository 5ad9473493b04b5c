// A serving node's figures from outside: `storectl serve --metrics` answers
// a Prometheus scrape, and `storectl stats --store caf://...` (and
// runtime::stats on a caf:// store) show what the node's store did for its
// clients -- the same counts the clients made.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runtime/runtime.hpp"
#include "support/http_get.hpp"
#include "support/prometheus.hpp"
#include "support/served_node.hpp"
#include "support/storectl_process.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

TEST(node_metrics, a_scrape_and_storectl_stats_show_the_clients_traffic) {
  served_node node({{"cache", "memory://nodemetrics" + unique_token()}}, "",
                   {"--metrics", "0"});
  auto url = node.ready_line().value("metrics", "");
  ASSERT_EQ(url.rfind("http://127.0.0.1:", 0), 0u) << node.ready_line();
  auto port = static_cast<std::uint16_t>(
      std::stoi(url.substr(std::string("http://127.0.0.1:").size())));

  {
    runtime rt;
    auto cache = rt.open_cache(node.uri("cache"));
    for (int i = 0; i < 40; ++i) await(cache.set("k" + std::to_string(i), "v"));
    for (int i = 0; i < 25; ++i) await(cache.get("k" + std::to_string(i)));
    EXPECT_TRUE(
        fails_with(errc::type_mismatch, [&] { await(cache.incr("k0")); }));
    // runtime::stats on a caf:// store asks the node.
    auto s = rt.stats(node.uri("cache"));
    EXPECT_EQ(s.store, "cache");
    EXPECT_EQ(s.kind, "cache");
    std::map<std::string, std::uint64_t> requests;
    for (auto& o : s.ops) requests[o.op] = o.requests;
    EXPECT_EQ(requests["set"], 40u);
    EXPECT_EQ(requests["get"], 25u);
    EXPECT_EQ(requests["incr"], 1u);
  }

  auto r = storectl({"stats", "--store", node.uri("cache")});
  ASSERT_EQ(r.code, 0) << r.err;
  auto line = nlohmann::json::parse(r.out);
  EXPECT_EQ(line["store"], "cache");
  EXPECT_EQ(line["ops"]["set"]["requests"], 40);
  EXPECT_EQ(line["ops"]["get"]["requests"], 25);
  EXPECT_EQ(line["ops"]["incr"]["errors"]["type_mismatch"], 1);
  EXPECT_GT(line["ops"]["set"]["max_us"].get<double>(), 0);
  EXPECT_GE(line["ops"]["set"]["p99_us"].get<double>(),
            line["ops"]["set"]["p50_us"].get<double>());

  r = storectl({"stats", "--store", node.uri("cache"), "--output", "table"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("requests"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("incr"), std::string::npos) << r.out;

  auto res = http_get("127.0.0.1", port, "/metrics");
  ASSERT_EQ(res.status, 200);
  auto x = parse_prometheus(res.body);
  std::map<std::string, std::string> set{
      {"store", "cache"}, {"kind", "cache"}, {"op", "set"}};
  EXPECT_EQ(x.value("storage_requests_total", set), 40);
  EXPECT_EQ(x.value("storage_request_duration_seconds_count", set), 40);
  EXPECT_EQ(
      x.value("storage_request_errors_total",
              {{"store", "cache"}, {"op", "incr"}, {"code", "type_mismatch"}}),
      1);
  EXPECT_EQ(http_get("127.0.0.1", port, "/nothing").status, 404);

  r = storectl({"stats", "--store", node.uri("no_such_store")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("serves no store named 'no_such_store'"),
            std::string::npos)
      << r.err;
}

// serve takes a faiss:// directory's locks before it listens, by a count of
// its own: the store's figures start at zero all the same (found by an
// outside audit: one count and one collection_not_found on every served
// faiss:// store before any client).
TEST(node_metrics, a_served_faiss_store_counts_only_its_clients) {
  auto dir = fresh_dir();
  {
    served_node node({{"vs", "faiss://" + dir + "/vs?pool=2"}});
    auto sum = [](const nlohmann::json& line, const char* field) {
      std::uint64_t n = 0;
      for (auto& [op, o] : line["ops"].items())
        if (o.contains(field)) {
          if (o[field].is_object())
            for (auto& [code, k] : o[field].items())
              n += k.get<std::uint64_t>();
          else
            n += o[field].get<std::uint64_t>();
        }
      return n;
    };
    auto r = storectl({"stats", "--store", node.uri("vs")});
    ASSERT_EQ(r.code, 0) << r.err;
    auto line = nlohmann::json::parse(r.out);
    EXPECT_EQ(sum(line, "requests"), 0u) << r.out;
    EXPECT_EQ(sum(line, "errors"), 0u) << r.out;
    {
      runtime rt;
      auto vs = rt.open_vector(node.uri("vs"));
      EXPECT_TRUE(fails_with(errc::collection_not_found,
                             [&] { await(vs.count("nothing")); }));
    }
    r = storectl({"stats", "--store", node.uri("vs")});
    ASSERT_EQ(r.code, 0) << r.err;
    line = nlohmann::json::parse(r.out);
    EXPECT_EQ(sum(line, "requests"), 1u) << r.out;
    EXPECT_EQ(line["ops"]["count"]["errors"]["collection_not_found"], 1)
        << r.out;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST(node_metrics, a_metrics_address_that_cannot_be_used_stops_serve) {
  auto dir = fresh_dir();
  auto cfg = dir + "/node.ini";
  std::ofstream(cfg) << "[stores]\ncache=\"memory://m\"\n";
  auto f = serve_expecting_exit(
      {"serve", "--config", cfg, "--port", "0", "--metrics", "localhost:x"});
  EXPECT_EQ(f.code, 1);
  EXPECT_NE(f.err.find("metrics address 'localhost:x'"), std::string::npos)
      << f.err;
}

}  // namespace
}  // namespace storage::test
