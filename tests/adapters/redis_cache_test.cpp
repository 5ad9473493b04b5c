// The Redis cache against the real server started by scripts/services.sh.
// Each test works in its own namespace; fault tests stop and restart that
// server, or start a second one with a password.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "adapters/redis/redis_cache.hpp"
#include "redis_cache_test_support.hpp"

namespace storage {
namespace {

using namespace redis_test;

// Each test runs twice: without a deadline (plain commands, mset inside
// MULTI/EXEC) and with one, as every request through the runtime has
// (writes inside the script that checks the server's clock).
class RedisCache : public testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ns = unique("rc");
    cache = open(uri_for(ns));
    if (GetParam()) cache->set_deadline(std::chrono::steady_clock::now() + 1h);
  }
  void TearDown() override {
    if (cache) cache->clear();
  }
  std::string ns;
  std::unique_ptr<cache_backend> cache;
};

TEST_P(RedisCache, GetSetDelExists) {
  EXPECT_FALSE(cache->capabilities().in_process);
  EXPECT_EQ(cache->get("a"), std::nullopt);
  cache->set("a", "1", std::nullopt);
  cache->set("a", "2", std::nullopt);
  EXPECT_EQ(cache->get("a"), "2");
  EXPECT_TRUE(cache->exists("a"));
  // Keys and values are binary-safe.
  std::string odd("sp ace\0nul", 10), val("v\0\r\n", 4);
  cache->set(odd, val, std::nullopt);
  EXPECT_EQ(cache->get(odd), val);
  EXPECT_EQ(cli("get " + ns + ":a"), "2");
  EXPECT_EQ(cache->del({"a", "missing", odd}), 2u);
  EXPECT_FALSE(cache->exists("a"));
  EXPECT_EQ(cache->del({}), 0u);
  expect_error(errc::invalid_argument, [&] { cache->get(""); });
}

TEST_P(RedisCache, TtlExpiresAndSetWithoutTtlClearsIt) {
  cache->set("short", "v", 150);
  auto t = cache->ttl("short");
  EXPECT_TRUE(t.exists);
  ASSERT_TRUE(t.ttl);
  EXPECT_GT(*t.ttl, 0);
  EXPECT_LE(*t.ttl, 150);
  EXPECT_EQ(cache->get("short"), "v");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(cache->get("short"), std::nullopt);
  EXPECT_FALSE(cache->exists("short"));
  EXPECT_FALSE(cache->ttl("short").exists);
  EXPECT_EQ(cache->mget({"short"})[0], std::nullopt);
  EXPECT_TRUE(cache->scan("", 100).entries.empty());

  cache->set("k", "v", 100000);
  cache->set("k", "w", std::nullopt);
  t = cache->ttl("k");
  EXPECT_TRUE(t.exists);
  EXPECT_EQ(t.ttl, std::nullopt);
  EXPECT_FALSE(cache->ttl("missing").exists);

  cache->set("huge", "v", INT64_MAX);  // clamped, not a server error
  EXPECT_TRUE(cache->ttl("huge").ttl.has_value());
  expect_error(errc::invalid_argument, [&] { cache->set("z", "v", 0); });
  EXPECT_FALSE(cache->exists("z"));
}

TEST_P(RedisCache, AddOnlyWhenAbsentOrExpired) {
  EXPECT_TRUE(cache->add("a", "1", std::nullopt));
  EXPECT_FALSE(cache->add("a", "2", 50));
  EXPECT_EQ(cache->get("a"), "1");
  EXPECT_EQ(cache->ttl("a").ttl, std::nullopt);
  EXPECT_TRUE(cache->add("e", "old", 50));
  std::this_thread::sleep_for(150ms);
  EXPECT_TRUE(cache->add("e", "new", std::nullopt));
  EXPECT_EQ(cache->get("e"), "new");
}

TEST_P(RedisCache, IncrRules) {
  EXPECT_EQ(cache->incr("n", 5), 5);
  EXPECT_EQ(cache->incr("n", -7), -2);
  EXPECT_EQ(cache->incr("m", -3), -3);
  cache->set("t", "10", 100000);
  EXPECT_EQ(cache->incr("t", 1), 11);
  EXPECT_TRUE(cache->ttl("t").ttl.has_value());  // incr keeps the TTL
  for (std::string bad : {"abc", "1.5", " 1", "+1", "007", "-0", ""}) {
    cache->set("s", bad, std::nullopt);
    auto what = expect_error(errc::type_mismatch, [&] { cache->incr("s", 1); });
    EXPECT_NE(what.find("'s'"), std::string::npos) << what;
    EXPECT_EQ(cache->get("s"), bad);
  }
  // Exact beyond 2^53 (the write script answers with text, not a Lua
  // number, which is a double).
  cache->set("low", std::to_string(INT64_MIN), std::nullopt);
  EXPECT_EQ(cache->incr("low", 9), INT64_MIN + 9);
  cache->set("big", std::to_string(INT64_MAX), std::nullopt);
  expect_error(errc::invalid_argument, [&] { cache->incr("big", 1); });
  EXPECT_EQ(cache->get("big"), std::to_string(INT64_MAX));
}

TEST_P(RedisCache, MgetKeepsOrderAndMsetIsWhole) {
  cache->mset({{"a", "1", std::nullopt}, {"b", "2", 100000}, {"c", "3", 80}});
  auto got = cache->mget({"b", "missing", "a", "b", "c"});
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0], "2");
  EXPECT_EQ(got[1], std::nullopt);
  EXPECT_EQ(got[2], "1");
  EXPECT_EQ(got[3], "2");
  EXPECT_EQ(got[4], "3");
  EXPECT_EQ(cache->ttl("a").ttl, std::nullopt);
  EXPECT_TRUE(cache->ttl("b").ttl.has_value());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(cache->mget({"c"})[0], std::nullopt);
  // A bad entry anywhere rejects the batch before anything is written.
  expect_error(errc::invalid_argument, [&] {
    cache->mset({{"x", "1", std::nullopt}, {"y", "2", -5}});
  });
  EXPECT_FALSE(cache->exists("x"));
  EXPECT_TRUE(cache->mget({}).empty());
}

TEST_P(RedisCache, Expire) {
  EXPECT_FALSE(cache->expire("missing", 1000));
  cache->set("k", "v", std::nullopt);
  EXPECT_TRUE(cache->expire("k", 100000));
  auto t = cache->ttl("k");
  ASSERT_TRUE(t.ttl);
  EXPECT_GT(*t.ttl, 90000);
  expect_error(errc::invalid_argument, [&] { cache->expire("k", 0); });
  EXPECT_TRUE(cache->exists("k"));
  EXPECT_TRUE(cache->expire("k", 50));
  std::this_thread::sleep_for(150ms);
  EXPECT_FALSE(cache->exists("k"));
}

TEST_P(RedisCache, NamespaceIsEncodedSoPrefixesNeverOverlap) {
  EXPECT_EQ(static_cast<redis_cache&>(*cache).prefix(), ns + ":");
  auto colon = open(uri_for(ns + ":x"));
  EXPECT_EQ(static_cast<redis_cache&>(*colon).prefix(), ns + "%3Ax:");
  auto pct = open(uri_for(ns + "%2525"));  // the namespace is "<ns>%25"
  EXPECT_EQ(static_cast<redis_cache&>(*pct).prefix(), ns + "%2525:");
  colon->set("k", "colon", std::nullopt);
  pct->set("k", "pct", std::nullopt);
  cache->set("k", "own", std::nullopt);
  EXPECT_EQ(cache->clear(), 1u);
  EXPECT_EQ(colon->get("k"), "colon");
  EXPECT_EQ(pct->get("k"), "pct");
  colon->clear();
  pct->clear();
}

TEST_P(RedisCache, ClearTouchesNoSiblingNamespaceNorOtherDb) {
  auto sibling = open(uri_for(ns + "2"));
  auto with_colon = open(uri_for(ns + ":x"));
  auto glob = open(uri_for(ns + "*"));  // MATCH must not treat * as a glob
  auto other_db = open(uri_for(ns, 1));
  cli("set " + ns + " raw");
  cli("set " + ns + "x:k raw");
  for (auto* c : {sibling.get(), with_colon.get(), glob.get(), other_db.get(),
                  cache.get()})
    c->mset({{"k1", "v", std::nullopt}, {"k2", "v", 100000}});
  cache->set("k3", "v", std::nullopt);
  EXPECT_EQ(glob->clear(), 2u);
  EXPECT_EQ(cache->clear(), 3u);
  EXPECT_EQ(cache->clear(), 0u);
  for (auto* c : {sibling.get(), with_colon.get(), other_db.get()})
    EXPECT_EQ(c->mget({"k1", "k2"}),
              (std::vector<std::optional<std::string>>{"v", "v"}));
  EXPECT_EQ(cli("get " + ns), "raw");
  EXPECT_EQ(cli("get " + ns + "x:k"), "raw");
  EXPECT_EQ(cli("del " + ns + " " + ns + "x:k"), "2");
  for (auto* c : {sibling.get(), with_colon.get(), other_db.get()})
    EXPECT_EQ(c->clear(), 2u);
}

TEST_P(RedisCache, ClearWalksEverySCANPage) {
  auto sibling = open(uri_for(ns + "2"));
  sibling->set("stay", "v", std::nullopt);
  constexpr int n = 5000;  // COUNT 1000: at least five SCAN pages
  for (int base = 0; base < n; base += 500) {
    std::vector<cache_entry> batch;
    for (int i = base; i < base + 500; ++i)
      batch.push_back({"key" + std::to_string(i), "v", std::nullopt});
    cache->mset(batch);
  }
  EXPECT_EQ(cache->clear(), static_cast<std::uint64_t>(n));
  EXPECT_TRUE(cache->scan("", 1000).entries.empty());
  EXPECT_EQ(sibling->get("stay"), "v");
  sibling->clear();
}

TEST_P(RedisCache, ScanCoversEveryLiveKey) {
  constexpr int n = 2500;
  std::vector<cache_entry> batch;
  for (int i = 0; i < n; ++i)
    batch.push_back({"k" + std::to_string(i), "v" + std::to_string(i),
                     i % 2 ? ttl_ms{100000} : std::nullopt});
  cache->mset(batch);
  cache->set("gone", "x", 30);
  std::this_thread::sleep_for(100ms);
  auto seen = scan_all(*cache, 100);
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto it = seen.find("k" + std::to_string(i));
    ASSERT_NE(it, seen.end()) << i;
    EXPECT_EQ(it->second.value, "v" + std::to_string(i));
    EXPECT_EQ(it->second.ttl.has_value(), i % 2 == 1);
    if (it->second.ttl) {
      EXPECT_GT(*it->second.ttl, 0);
    }
  }
  expect_error(errc::invalid_argument, [&] { cache->scan("", 0); });
  expect_error(errc::invalid_argument, [&] { cache->scan("x1", 10); });
}

TEST_P(RedisCache, ScanLosesNoKeyWhileOtherKeysChange) {
  // Another client adding and removing unrelated keys makes Redis resize and
  // rehash between SCAN calls; every key present throughout must still come.
  constexpr int n = 1800;
  std::vector<cache_entry> batch;
  for (int i = 0; i < n; ++i)
    batch.push_back({"k" + std::to_string(i), "v", std::nullopt});
  cache->mset(batch);
  auto other = open(uri_for(ns + "-churn"));
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    for (int i = 0; !stop; ++i) {
      other->set("c" + std::to_string(i % 5000), "x", std::nullopt);
      if (i % 3 == 0) other->del({"c" + std::to_string((i * 7) % 5000)});
    }
  });
  auto seen = scan_all(*cache, 10);
  stop = true;
  churn.join();
  other->clear();
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));
}

// Batches far longer than one Lua call can unpack (~8000 values).
TEST_P(RedisCache, LongBatchesWriteWhole) {
  std::vector<cache_entry> entries;
  std::vector<std::string> keys;
  for (int i = 0; i < 9000; ++i) {
    keys.push_back("k" + std::to_string(i));
    entries.push_back({keys.back(), "v", std::nullopt});
  }
  cache->mset(entries);
  EXPECT_EQ(cache->mget({"k0", "k8999"}),
            (std::vector<std::optional<std::string>>{"v", "v"}));
  keys.push_back("missing");
  EXPECT_EQ(cache->del(keys), 9000u);
  EXPECT_FALSE(cache->exists("k0"));
}

INSTANTIATE_TEST_SUITE_P(Deadline, RedisCache, testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "with" : "without";
                         });

TEST(RedisCacheUri, RejectsWhatItCannotUse) {
  auto s = server();
  auto base = "redis://" + s.host() + ":" + std::to_string(s.port());
  expect_error(errc::invalid_argument, [&] { open(base + "/0?colour=red"); });
  expect_error(errc::invalid_argument, [&] { open(base + "/abc"); });
  expect_error(errc::invalid_argument, [&] { open(base + "/0?namespace="); });
  expect_error(errc::invalid_argument, [&] { open(base + "/0?timeout_ms=0"); });
  auto what = expect_error(errc::invalid_argument, [&] { open(base + "/99"); });
  EXPECT_NE(what.find("99"), std::string::npos) << what;
  // The runtime's own parameters are accepted.
  open(base + "/0?pool=4&timeout_ms=1000&max_inflight=10&namespace=u");
}

TEST(RedisCacheAuth, PasswordToAServerWithoutOneFailsWithoutShowingIt) {
  auto s = server();
  auto what = expect_error(errc::invalid_argument, [&] {
    open("redis://:hunter2-pw@" + s.host() + ":" + std::to_string(s.port()));
  });
  EXPECT_EQ(what.find("hunter2-pw"), std::string::npos) << what;
  EXPECT_NE(what.find(s.host() + ":" + std::to_string(s.port())),
            std::string::npos)
      << what;
}

TEST(RedisCacheAuth, ServerWithPassword) {
  // A second, real Redis that requires a password, on a port of its own.
  const std::string port = "56381", pw = "right-pw-7f3a";
  std::string dir = "/tmp/redis-auth-test-" + std::to_string(getpid());
  ASSERT_EQ(
      std::system(("mkdir -p " + dir + " && redis-server --port " + port +
                   " --bind 127.0.0.1 --save '' --appendonly no" +
                   " --requirepass " + pw + " --daemonize yes --dir " + dir +
                   " --pidfile " + dir + "/r.pid --logfile " + dir + "/r.log")
                      .c_str()),
      0);
  struct stopper {
    std::string port, pw, dir;
    ~stopper() {
      std::system(("redis-cli -p " + port + " --no-auth-warning -a " + pw +
                   " shutdown nosave >/dev/null 2>&1; rm -rf " + dir)
                      .c_str());
    }
  } stop{port, pw, dir};
  std::string host = "127.0.0.1:" + port;
  std::unique_ptr<cache_backend> ok;
  for (int i = 0; i < 100 && !ok; ++i) {
    try {
      ok = open("redis://:" + pw + "@" + host + "/0?namespace=auth");
    } catch (const store_error&) {
      std::this_thread::sleep_for(50ms);
    }
  }
  ASSERT_TRUE(ok) << "redis with requirepass did not start";
  ok->set("k", "v", std::nullopt);
  EXPECT_EQ(ok->get("k"), "v");

  auto wrong = expect_error(errc::invalid_argument, [&] {
    open("redis://:wrong-pw-91c2@" + host + "/0");
  });
  EXPECT_EQ(wrong.find("wrong-pw-91c2"), std::string::npos) << wrong;
  EXPECT_EQ(wrong.find(pw), std::string::npos) << wrong;
  EXPECT_NE(wrong.find(host), std::string::npos) << wrong;
  auto none =
      expect_error(errc::invalid_argument, [&] { open("redis://" + host); });
  EXPECT_NE(none.find("NOAUTH"), std::string::npos) << none;
}

TEST(RedisCacheFaults, NothingListeningIsBackendUnavailableAtOnce) {
  auto host = loopback_port(false).second;
  auto start = clock_type::now();
  auto what = expect_error(errc::backend_unavailable,
                           [&] { open("redis://" + host + "/0"); });
  EXPECT_LT(clock_type::now() - start, 3s);
  EXPECT_NE(what.find(host), std::string::npos) << what;
}

// Made for a request (as a pool's worker makes its adapter), the login ends
// by that request's deadline, not by timeout_ms.
TEST(RedisCacheFaults, AnAdapterMadeForARequestLogsInByItsDeadline) {
  auto [fd, host] = loopback_port(true);
  auto start = clock_type::now();
  auto what = expect_error(errc::timeout, [&] {
    make_redis_cache(store_uri::parse("redis://" + host + "/0?timeout_ms=5000"),
                     0, 1, clock_type::now() + 300ms);
  });
  auto took = clock_type::now() - start;
  close(fd);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_NE(what.find(host), std::string::npos) << what;
}

TEST(RedisCacheFaults, ServerThatNeverAnswersTimesOut) {
  auto [fd, host] = loopback_port(true);
  auto start = clock_type::now();
  auto what = expect_error(
      errc::timeout, [&] { open("redis://" + host + "/0?timeout_ms=300"); });
  auto took = clock_type::now() - start;
  close(fd);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
  EXPECT_NE(what.find(host), std::string::npos) << what;
}

TEST(RedisCacheFaults, RecoversAfterTheServerRestarts) {
  auto ns = unique("restart");
  auto cache = open(uri_for(ns));
  cache->set("k", "v", std::nullopt);
  auto s = server();
  auto host = s.host() + ":" + std::to_string(s.port());
  // Whatever happens below, the shared server is running afterwards.
  struct restarter {
    ~restarter() { services("start redis >/dev/null"); }
  } restart;
  ASSERT_EQ(services("stop redis >/dev/null"), 0);
  for (int i = 0; i < 2; ++i) {  // the broken connection, then a refused one
    auto start = clock_type::now();
    auto what =
        expect_error(errc::backend_unavailable, [&] { cache->get("k"); });
    EXPECT_LT(clock_type::now() - start, 3s);
    EXPECT_NE(what.find(host), std::string::npos) << what;
  }
  ASSERT_EQ(services("start redis >/dev/null"), 0);
  cache->set("k", "again", std::nullopt);  // same adapter, new connection
  EXPECT_EQ(cache->get("k"), "again");
  cache->clear();
}

// Batches (execute) are tested apart, still in this executable: the build
// makes one test program per adapter, named after this file.
#include "redis_cache_batch_tests.hpp"

}  // namespace
}  // namespace storage
