// Included by redis_cache_test.cpp (inside its namespaces): execute(), the
// batch entry point, against the real server, including while it is down.
#pragma once

using kind = cache_op_kind;

cache_op op(kind k, std::string key = {}, std::string value = {},
            std::int64_t number = 0) {
  cache_op o;
  o.kind = k;
  o.key = std::move(key);
  o.value = std::move(value);
  o.number = number;
  return o;
}

// Every kind, with answers that depend on the ops before them, per-op
// errors from the server (incr on text) and from validation (ttl 0, empty
// key). Expects "s" = "text" beforehand.
std::vector<cache_op> mixed_ops() {
  std::vector<cache_op> ops{op(kind::set, "a", "1"),
                            op(kind::get, "a"),
                            op(kind::incr, "n", "", 2),
                            op(kind::incr, "s", "", 1),
                            op(kind::add, "a", "x"),
                            op(kind::add, "b", "2"),
                            op(kind::exists, "b"),
                            op(kind::mset),
                            op(kind::mget),
                            op(kind::expire, "c", "", 100000),
                            op(kind::ttl, "c"),
                            op(kind::del),
                            op(kind::get, "a"),
                            op(kind::expire, "n", "", 0),
                            op(kind::get, ""),
                            op(kind::incr, "n", "", 3)};
  ops[7].entries = {{"c", "3", std::nullopt}, {"d", "4", 100000}};
  ops[8].keys = {"d", "missing", "a", "c"};
  ops[11].keys = {"a", "b", "zz"};
  return ops;
}

TEST_P(RedisCache, BatchAnswersEachOpInOneRoundTrip) {
  auto& rc = dynamic_cast<redis_cache&>(*cache);
  EXPECT_TRUE(cache->capabilities().batching);
  cache->set("s", "text", std::nullopt);
  auto before = rc.round_trips();
  auto rs = cache->execute(mixed_ops());
  EXPECT_EQ(rc.round_trips(), before + 1);
  ASSERT_EQ(rs.size(), 16u);
  for (std::size_t i : {0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15})
    EXPECT_FALSE(rs[i].error) << i << ": " << rs[i].error->what();
  EXPECT_EQ(rs[1].value, "1");
  EXPECT_EQ(rs[2].number, 2);
  ASSERT_TRUE(rs[3].error);
  EXPECT_EQ(rs[3].error->code(), errc::type_mismatch);
  EXPECT_EQ(rs[3].error->operation(), "incr");
  EXPECT_FALSE(rs[4].flag);
  EXPECT_TRUE(rs[5].flag);
  EXPECT_TRUE(rs[6].flag);
  EXPECT_EQ(rs[8].values, (std::vector<std::optional<std::string>>{
                              "4", std::nullopt, "1", "3"}));
  EXPECT_TRUE(rs[9].flag);
  EXPECT_TRUE(rs[10].ttl.exists);
  EXPECT_GT(rs[10].ttl.ttl.value_or(0), 90000);
  EXPECT_EQ(rs[11].count, 2u);
  EXPECT_EQ(rs[12].value, std::nullopt);
  for (std::size_t i : {13, 14}) {
    ASSERT_TRUE(rs[i].error) << i;
    EXPECT_EQ(rs[i].error->code(), errc::invalid_argument);
  }
  EXPECT_EQ(rs[15].number, 5);
  EXPECT_EQ(cache->get("s"), "text");  // the failed incr changed nothing
  EXPECT_FALSE(cache->ttl("n").ttl);   // nor did the rejected expire
}

TEST_P(RedisCache, PipelinedBatchAnswersAsOneByOne) {
  auto other = open(uri_for(unique("rc")));
  cache->set("s", "text", std::nullopt);
  other->set("s", "text", std::nullopt);
  auto ops = mixed_ops();
  auto piped = cache->execute(ops);
  auto single = other->cache_backend::execute(ops);  // the default
  ASSERT_EQ(piped.size(), single.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    auto &p = piped[i], &s = single[i];
    ASSERT_EQ(bool(p.error), bool(s.error)) << i;
    if (p.error) {
      EXPECT_EQ(p.error->code(), s.error->code()) << i;
    }
    EXPECT_EQ(p.value, s.value) << i;
    EXPECT_EQ(p.values, s.values) << i;
    EXPECT_EQ(p.count, s.count) << i;
    EXPECT_EQ(p.number, s.number) << i;
    EXPECT_EQ(p.flag, s.flag) << i;
    EXPECT_EQ(p.ttl.exists, s.ttl.exists) << i;
  }
  other->clear();
}

TEST_P(RedisCache, BatchRunsInArrivalOrder) {
  std::vector<cache_op> ops;
  for (int i = 0; i < 300; ++i) {
    ops.push_back(op(kind::set, "k", std::to_string(i)));
    ops.push_back(op(kind::get, "k"));
    ops.push_back(op(kind::incr, "n", "", 1));
  }
  auto rs = cache->execute(ops);
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(rs[3 * i + 1].value, std::to_string(i));
    EXPECT_EQ(rs[3 * i + 2].number, i + 1);
  }
  EXPECT_TRUE(cache->execute({}).empty());
}

TEST(RedisCacheFaults, BatchFailsWhileTheServerIsDownThenRecovers) {
  auto ns = unique("batchdown");
  auto cache = open(uri_for(ns));
  auto s = server();
  auto host = s.host() + ":" + std::to_string(s.port());
  std::vector<cache_op> ops{op(kind::incr, "a", "", 1),
                            op(kind::incr, "b", "", 2), op(kind::get, "c"),
                            op(kind::set, "d", "v")};
  ASSERT_FALSE(cache->execute(ops)[0].error);  // connected and working
  // Whatever happens below, the shared server is running afterwards.
  struct restarter {
    ~restarter() { services("start redis >/dev/null"); }
  } restart;
  ASSERT_EQ(services("stop redis >/dev/null"), 0);
  // Every op of a batch sent to a server that is gone fails, naming it.
  for (int i = 0; i < 2; ++i) {
    auto rs = cache->execute(ops);
    ASSERT_EQ(rs.size(), ops.size());
    for (auto& r : rs) {
      ASSERT_TRUE(r.error);
      EXPECT_EQ(r.error->code(), errc::backend_unavailable) << r.error->what();
      EXPECT_NE(std::string(r.error->what()).find(host), std::string::npos);
    }
  }
  ASSERT_EQ(services("start redis >/dev/null"), 0);
  // The same adapter reconnects by itself; the restarted server kept its
  // data (the test Redis has an append-only file, scripts/services.sh), so
  // the counter goes on from the 1 written before the stop.
  auto rs = cache->execute({op(kind::incr, "a", "", 5), op(kind::get, "a")});
  ASSERT_FALSE(rs[0].error) << rs[0].error->what();
  EXPECT_EQ(rs[0].number, 6);
  EXPECT_EQ(rs[1].value, "6");
  cache->clear();
}

// Writes carry the write script whole (EVAL), so an admin's SCRIPT FLUSH
// at any moment fails nothing, whatever the pipeline mixes.
TEST(RedisCacheScripts, ScriptFlushFailsNoWrite) {
  auto ns = unique("flush");
  auto cache = open(uri_for(ns));
  cache->set_deadline(std::chrono::steady_clock::now() + 1h);
  cache->set("a", "1", std::nullopt);
  for (int round = 0; round < 3; ++round) {
    ASSERT_EQ(cli("script flush"), "OK");
    auto v = std::to_string(round);
    auto rs = cache->execute({op(kind::set, "a", v), op(kind::get, "a"),
                              op(kind::incr, "n", "", 2), op(kind::get, "n"),
                              op(kind::set, "b", v)});
    for (auto& r : rs) EXPECT_FALSE(r.error) << r.error->what();
    EXPECT_EQ(rs[1].value, v);
    EXPECT_EQ(rs[2].number, 2 * (round + 1));
    EXPECT_EQ(cli("mget " + ns + ":a " + ns + ":b"), v + "\n" + v);
  }
  cache->clear();
}

// Without the server's clock no write could be refused past its deadline:
// a user the ACL denies TIME is refused when connecting, naming what to
// grant, and its password is never shown.
TEST(RedisCacheScripts, AUserDeniedTimeCannotConnect) {
  ASSERT_EQ(cli("acl setuser rc-notime on '>notime-pw-5c1e' '~*' '&*' +@all "
                "-time"),
            "OK");
  struct deluser {
    ~deluser() { cli("acl deluser rc-notime"); }
  } del;
  auto s = server();
  auto what = expect_error(errc::invalid_argument, [&] {
    open("redis://rc-notime:notime-pw-5c1e@" + s.host() + ":" +
         std::to_string(s.port()) + "/0?namespace=" + unique("notime"));
  });
  EXPECT_NE(what.find("refused TIME"), std::string::npos) << what;
  EXPECT_NE(what.find("+time"), std::string::npos) << what;
  EXPECT_EQ(what.find("notime-pw-5c1e"), std::string::npos) << what;
}
