// Faults a configuration causes, seen through the runtime: a server that is
// not running when the application starts, a wrong password, a database that
// does not exist. Each error is clear (its code, host:port) and never shows a
// password.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "runtime/runtime.hpp"
#include "server_support.hpp"

namespace storage::srv {
namespace {

const std::string secret = "s3cret-Pw-5c1e";

// The error of a request, checked to name `endpoint` and not `password`.
void expect_clear_error(const outcome& o, errc want,
                        const std::string& endpoint,
                        const std::string& password) {
  ASSERT_FALSE(o.hung) << "request did not complete";
  EXPECT_EQ(o.code, want) << o.what;
  EXPECT_NE(o.what.find(endpoint), std::string::npos) << o.what;
  EXPECT_EQ(o.what.find(password), std::string::npos) << o.what;
}

// A server that is not running: the first request (and the next) fails
// within the deadline with backend_unavailable naming host:port.
template <class Open, class Request>
void expect_unreachable(const std::string& uri, const std::string& endpoint,
                        Open open, Request request) {
  runtime rt;
  auto store = open(rt, uri);
  EXPECT_EQ(store.name().find(secret), std::string::npos) << store.name();
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto start = clock_type::now();
    auto f = request(store);
    auto o = settle(f, 30s);
    // The deadline is 2 s (timeout_ms); allow a generous margin.
    EXPECT_LT(clock_type::now() - start, 2s + 1500ms);
    expect_clear_error(o, errc::backend_unavailable, endpoint, secret);
  }
}

TEST(ServerNotRunning, RedisFailsFastWithoutShowingThePassword) {
  auto ep = free_endpoint();
  expect_unreachable(
      "redis://:" + secret + "@" + ep + "/0?timeout_ms=2000", ep,
      [](runtime& rt, const std::string& u) { return rt.open_cache(u); },
      [](cache_store& c) { return c.get("k"); });
}

TEST(ServerNotRunning, PgvectorFailsFastWithoutShowingThePassword) {
  auto ep = free_endpoint();
  expect_unreachable(
      "pgvector://storage:" + secret + "@" + ep +
          "/storage_test?timeout_ms=2000",
      ep, [](runtime& rt, const std::string& u) { return rt.open_vector(u); },
      [](vector_store& v) { return v.list_collections(); });
}

TEST(ServerNotRunning, ChromaFailsFast) {
  auto ep = free_endpoint();
  expect_unreachable(
      "chroma://" + ep + "?timeout_ms=2000", ep,
      [](runtime& rt, const std::string& u) { return rt.open_vector(u); },
      [](vector_store& v) { return v.count("anything"); });
}

// chroma:// takes no password: refused at open, never silently ignored.
TEST(ServerNotRunning, ChromaRefusesAPasswordWithoutShowingIt) {
  runtime rt;
  try {
    rt.open_vector("chroma://user:" + secret + "@" + free_endpoint());
    ADD_FAILURE() << "a chroma:// URI with a password was accepted";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("takes no password"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos)
        << e.what();
  }
}

// A server that accepts the connection and never answers: each request is
// answered (timeout, or backend_unavailable once the connect gives up)
// within its 2 s deadline, never left hanging.
template <class Open, class Request>
void expect_deadline(const std::string& uri, Open open, Request request) {
  runtime rt;
  auto store = open(rt, uri);
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto start = clock_type::now();
    auto f = request(store);
    auto o = settle(f, 30s);
    ASSERT_FALSE(o.hung);
    EXPECT_LT(clock_type::now() - start, 2s + 1500ms);
    EXPECT_TRUE(o.code == errc::timeout || o.code == errc::backend_unavailable)
        << o.what;
    EXPECT_EQ(o.what.find(secret), std::string::npos) << o.what;
  }
}

TEST(ServerNeverAnswers, RedisRequestsMeetTheirDeadline) {
  silent_listener frozen;
  expect_deadline(
      "redis://:" + secret + "@" + frozen.endpoint() + "/0?timeout_ms=2000",
      [](runtime& rt, const std::string& u) { return rt.open_cache(u); },
      [](cache_store& c) { return c.get("k"); });
}

TEST(ServerNeverAnswers, PgvectorRequestsMeetTheirDeadline) {
  silent_listener frozen;
  expect_deadline(
      "pgvector://storage:" + secret + "@" + frozen.endpoint() +
          "/storage_test?timeout_ms=2000",
      [](runtime& rt, const std::string& u) { return rt.open_vector(u); },
      [](vector_store& v) { return v.count("anything"); });
}

TEST(ServerNeverAnswers, ChromaRequestsMeetTheirDeadline) {
  silent_listener frozen;
  expect_deadline(
      "chroma://" + frozen.endpoint() + "?timeout_ms=2000",
      [](runtime& rt, const std::string& u) { return rt.open_vector(u); },
      [](vector_store& v) { return v.count("anything"); });
}

// ---- credentials and databases -------------------------------------------

std::string pg_endpoint() {
  auto u = store_uri::parse(test::pgvector_uri());
  return u.host() + ":" + std::to_string(u.port());
}

std::string pg_uri(const std::string& password, const std::string& db) {
  return "pgvector://storage:" + password + "@" + pg_endpoint() + "/" + db +
         "?timeout_ms=5000";
}

TEST(WrongCredentials, PgvectorWrongPasswordIsInvalidArgument) {
  runtime rt;
  auto vs = rt.open_vector(pg_uri(secret, "storage_test"));
  auto f = vs.list_collections();
  auto o = settle(f, 30s);
  expect_clear_error(o, errc::invalid_argument, pg_endpoint(), secret);
  // It stays a clear error, not a hang or a different code, when retried.
  auto again = vs.count("anything");
  expect_clear_error(settle(again, 30s), errc::invalid_argument, pg_endpoint(),
                     secret);
}

TEST(WrongCredentials, PgvectorUnknownDatabaseIsInvalidArgument) {
  auto real = store_uri::parse(test::pgvector_uri()).password();
  runtime rt;
  auto vs = rt.open_vector(pg_uri(real, "no_such_db_9f2"));
  auto f = vs.list_collections();
  auto o = settle(f, 30s);
  expect_clear_error(o, errc::invalid_argument, pg_endpoint(), real);
  EXPECT_NE(o.what.find("no_such_db_9f2"), std::string::npos) << o.what;
}

// A second redis-server, with requirepass, on a free port for this test.
class password_redis {
 public:
  password_redis() : endpoint_(free_endpoint()), dir_(test::fresh_dir()) {
    port_ = endpoint_.substr(endpoint_.rfind(':') + 1);
    int rc =
        std::system(("redis-server --port " + port_ +
                     " --bind 127.0.0.1 --save '' --appendonly no"
                     " --requirepass " +
                     secret + " --daemonize yes --dir " + dir_ + " --pidfile " +
                     dir_ + "/r.pid --logfile " + dir_ + "/r.log")
                        .c_str());
    EXPECT_EQ(rc, 0) << "redis-server did not start";
    up_ = eventually(
        [&] {
          return shell("redis-cli -p " + port_ + " --no-auth-warning -a " +
                       secret + " ping 2>&1") == "PONG";
        },
        10s);
  }
  ~password_redis() {
    shell("redis-cli -p " + port_ + " --no-auth-warning -a " + secret +
          " shutdown nosave 2>&1; rm -rf " + dir_);
  }
  bool up() const { return up_; }
  const std::string& endpoint() const { return endpoint_; }

 private:
  std::string endpoint_, dir_, port_;
  bool up_ = false;
};

TEST(WrongCredentials, RedisPasswordsAndDatabases) {
  password_redis server;
  ASSERT_TRUE(server.up()) << "redis with requirepass did not answer";
  const auto& ep = server.endpoint();
  runtime rt;

  // The right password works through the runtime.
  auto good = rt.open_cache("redis://:" + secret + "@" + ep + "/0?namespace=a");
  ASSERT_NO_THROW(test::await(good.set("k", "v")));
  EXPECT_EQ(test::await(good.get("k")), "v");

  // A wrong password: invalid_argument, neither password shown.
  const std::string wrong = "Wr0ng-pw-77b1";
  auto bad = rt.open_cache("redis://:" + wrong + "@" + ep + "/0?namespace=a");
  auto f = bad.get("k");
  auto o = settle(f, 30s);
  expect_clear_error(o, errc::invalid_argument, ep, wrong);
  EXPECT_EQ(o.what.find(secret), std::string::npos) << o.what;

  // No password at all: the server's NOAUTH, as invalid_argument.
  auto none = rt.open_cache("redis://" + ep + "/0?namespace=a");
  auto g = none.set("k", "x");
  expect_clear_error(settle(g, 30s), errc::invalid_argument, ep, secret);

  // The right password and a database the server does not have.
  auto nodb =
      rt.open_cache("redis://:" + secret + "@" + ep + "/4242?namespace=a");
  auto h = nodb.get("k");
  auto od = settle(h, 30s);
  expect_clear_error(od, errc::invalid_argument, ep, secret);
  EXPECT_NE(od.what.find("4242"), std::string::npos) << od.what;

  // None of the failures changed the value.
  EXPECT_EQ(test::await(good.get("k")), "v");
}

TEST(WrongCredentials, RedisUnknownDatabaseOnTheTestServer) {
  auto u = store_uri::parse(test::redis_uri());
  auto ep = u.host() + ":" + std::to_string(u.port());
  runtime rt;
  auto nodb = rt.open_cache("redis://" + ep + "/999?namespace=a");
  auto f = nodb.get("k");
  auto o = settle(f, 30s);
  expect_clear_error(o, errc::invalid_argument, ep, secret);
  EXPECT_NE(o.what.find("999"), std::string::npos) << o.what;
  // The test server has no password: sending one is a clear error too.
  auto pw = rt.open_cache("redis://:" + secret + "@" + ep + "/0?namespace=a");
  auto g = pw.get("k");
  expect_clear_error(settle(g, 30s), errc::invalid_argument, ep, secret);
}

}  // namespace
}  // namespace storage::srv
