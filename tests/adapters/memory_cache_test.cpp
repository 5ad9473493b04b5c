#include "adapters/memory/memory_cache.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "adapters/cache_rules.hpp"
#include "adapters/factories.hpp"
#include "messages/store_uri.hpp"

namespace storage::testing {
namespace {

std::unique_ptr<cache_backend> open(const std::string& uri,
                                    std::uint32_t shard = 0,
                                    std::uint32_t shards = 1) {
  return make_memory_cache(store_uri::parse(uri), shard, shards);
}

INSTANTIATE_TEST_SUITE_P(memory, cache_rules,
                         ::testing::Values(cache_factory{
                             "memory",
                             [] { return open("memory://?namespace=t"); }}),
                         [](const auto& info) { return info.param.name; });

TEST(memory_cache, is_in_process) {
  EXPECT_TRUE(open("memory://")->capabilities().in_process);
}

TEST(memory_cache, rejects_bad_uris) {
  EXPECT_EQ(code_of([] { open("memory://?bogus=1"); }), errc::invalid_argument);
  EXPECT_EQ(code_of([] { open("memory://?max_entries=0"); }),
            errc::invalid_argument);
  EXPECT_EQ(code_of([] { open("memory://?max_entries=lots"); }),
            errc::invalid_argument);
  EXPECT_EQ(code_of([] { open("memory://?namespace="); }),
            errc::invalid_argument);
  EXPECT_EQ(code_of([] { open("memory://", 2, 2); }), errc::invalid_argument);
  EXPECT_EQ(code_of([] { open("memory://", 0, 0); }), errc::invalid_argument);
  // The runtime's own parameters are accepted.
  EXPECT_EQ(
      code_of([] { open("memory://?pool=4&timeout_ms=5&max_inflight=9"); }),
      errc::ok);
}

// memory://NAME names a separate store; anything else in the authority or a
// path is a mistyped URI, not something to ignore (found by an outside
// audit: `memory://&max_inflight=100000` silently kept the default bound).
TEST(memory_cache, a_uri_with_a_port_path_or_odd_name_is_refused) {
  for (const char* uri :
       {"memory://&max_entries=1", "memory://h:1/db",
        "memory://h/x?max_entries=2", "memory://user@h", "memory://a%20b"}) {
    SCOPED_TRACE(uri);
    try {
      open(uri);
      ADD_FAILURE() << "accepted";
    } catch (const store_error& e) {
      EXPECT_EQ(e.code(), errc::invalid_argument) << e.what();
      EXPECT_NE(std::string(e.what()).find("memory://[NAME]"),
                std::string::npos)
          << e.what();
    }
  }
  for (const char* uri : {"memory://", "memory:///", "memory://cache-1.a_b",
                          "memory://?max_entries=2"})
    EXPECT_NO_THROW(open(uri)) << uri;
}

TEST(memory_cache, error_never_shows_the_password) {
  try {
    open("memory://user:s3cret@?bogus=1");
    FAIL() << "accepted an unknown parameter";
  } catch (const store_error& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("bogus"), std::string::npos);
  }
}

TEST(memory_cache, evicts_least_recently_used) {
  auto c = open("memory://?max_entries=3");
  c->set("a", "1", std::nullopt);
  c->set("b", "2", std::nullopt);
  c->set("c", "3", std::nullopt);
  EXPECT_EQ(c->get("a"), "1");  // a is now the most recent
  c->set("d", "4", std::nullopt);
  EXPECT_FALSE(c->exists("b"));
  EXPECT_TRUE(c->exists("a"));
  EXPECT_TRUE(c->exists("c"));
  EXPECT_TRUE(c->exists("d"));
  // Recency is now d, a, c: two new keys push out c, then a.
  EXPECT_TRUE(c->exists("a"));
  EXPECT_TRUE(c->exists("d"));
  c->mset({{"e", "5", std::nullopt}, {"f", "6", std::nullopt}});
  EXPECT_EQ(c->mget({"a", "c", "d", "e", "f"}),
            (std::vector<std::optional<std::string>>{std::nullopt, std::nullopt,
                                                     "4", "5", "6"}));
  EXPECT_EQ(scan_all(*c, 10).size(), 3u);
}

TEST(memory_cache, expired_entries_are_dropped_before_live_ones) {
  auto c = open("memory://?max_entries=3");
  c->set("old", "1", std::nullopt);
  c->set("t1", "2", 50);
  c->set("t2", "3", 50);
  sleep_ms(120);
  c->set("x", "4", std::nullopt);
  c->set("y", "5", std::nullopt);
  // The expired keys made room: the least recently used live key survives.
  EXPECT_EQ(c->get("old"), "1");
  EXPECT_EQ(c->clear(), 3u);
}

// max_entries bounds the whole store: 10 over 3 shards is 4 + 3 + 3, and
// fewer entries than shards cannot be split.
TEST(memory_cache, shards_split_max_entries) {
  std::uint64_t sum = 0;
  for (std::uint32_t shard = 0; shard < 3; ++shard) {
    auto c = open("memory://?max_entries=10&pool=3", shard, 3);
    auto* m = dynamic_cast<memory_cache*>(c.get());
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->max_entries(), shard == 0 ? 4u : 3u) << shard;
    sum += m->max_entries();
    for (int i = 0; i < 6; ++i) c->set(std::to_string(i), "v", std::nullopt);
    EXPECT_EQ(scan_all(*c, 100).size(), m->max_entries());
    EXPECT_EQ(m->name_space(), "default");
  }
  EXPECT_EQ(sum, 10u);
  EXPECT_EQ(code_of([] { open("memory://?max_entries=3&pool=4", 0, 4); }),
            errc::invalid_argument);
}

TEST(memory_cache, instances_do_not_share_keys) {
  auto a = open("memory://?namespace=app");
  auto b = open("memory://?namespace=app2");
  a->set("k", "a", std::nullopt);
  b->set("k", "b", std::nullopt);
  EXPECT_EQ(a->clear(), 1u);
  EXPECT_EQ(b->get("k"), "b");
}

TEST(memory_cache, concurrent_callers_lose_no_update) {
  auto c = open("memory://");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        c->incr("n", 1);
        c->set("k" + std::to_string(i % 50), "v", 1000);
        c->get("k" + std::to_string(i % 7));
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->get("n"), "8000");
}

}  // namespace
}  // namespace storage::testing
