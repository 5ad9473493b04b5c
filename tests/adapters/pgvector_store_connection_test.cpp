// pgvector_store's connection against the real PostgreSQL of
// scripts/services.sh: bad credentials, an unreachable or silent server, and
// a session the server ends. A server that is down fails these tests.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <postgresql/libpq-fe.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <tuple>

#include "adapters/factories.hpp"
#include "adapters/pgvector/pgvector_store.hpp"
#include "adapters/pgvector_store_fixture.hpp"
#include "messages/errors.hpp"
#include "support/servers.hpp"

namespace storage {
namespace {

using namespace pgtest;

// The error of opening `uri` and counting a collection through it.
std::pair<errc, std::string> error_of(const std::string& uri) {
  std::string what;
  auto code = code_of(
      [&] { make_pgvector_store(store_uri::parse(uri), 0, 1)->count("abc"); },
      &what);
  return {code, what};
}

TEST(pgvector_connection, wrong_password_or_database_is_clear) {
  auto uri = store_uri::parse(test::pgvector_uri());
  auto at = "@" + uri.host() + ":" + std::to_string(uri.port());
  auto [code, what] =
      error_of("pgvector://storage:Hunter2" + at + "/" + uri.path().substr(1));
  EXPECT_EQ(code, errc::invalid_argument);
  EXPECT_EQ(what.find("Hunter2"), std::string::npos) << what;
  EXPECT_NE(what.find("password authentication failed"), std::string::npos)
      << what;
  std::tie(code, what) = error_of("pgvector://" + uri.user() + ":" +
                                  uri.password() + at + "/no_such_db");
  EXPECT_EQ(code, errc::invalid_argument);
  EXPECT_NE(what.find("no_such_db"), std::string::npos) << what;
  EXPECT_EQ(what.find(uri.password()), std::string::npos) << what;
  EXPECT_TRUE(open()->capabilities().approximate);
  EXPECT_FALSE(open()->capabilities().in_process);
  EXPECT_FALSE(open("index=none")->capabilities().approximate);
  EXPECT_EQ(code_of([] { open("bogus=1"); }), errc::invalid_argument);
  EXPECT_EQ(code_of([] { open("index=ivf"); }), errc::invalid_argument);
  EXPECT_EQ(code_of([] { open("m=16&ef_construction=8"); }),
            errc::invalid_argument);
  EXPECT_EQ(code_of([] {
              open(
                  "pool=4&timeout_ms=5000&max_inflight=9&m=8&"
                  "ef_construction=32&ef_search=50&index=none");
            }),
            errc::ok);
}

TEST(pgvector_connection, unreachable_server_fails_fast_naming_host_port) {
  auto start = std::chrono::steady_clock::now();
  auto [code, what] = error_of("pgvector://u:Pw-xyz@127.0.0.1:1/db");
  EXPECT_EQ(code, errc::backend_unavailable);
  EXPECT_NE(what.find("127.0.0.1:1"), std::string::npos) << what;
  EXPECT_EQ(what.find("Pw-xyz"), std::string::npos) << what;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

// A loopback port that accepts TCP and never speaks; closed on destruction.
struct silent_server {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  std::string port;
  silent_server() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(fd, 8), 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = std::to_string(ntohs(addr.sin_port));
  }
  silent_server(const silent_server&) = delete;
  silent_server& operator=(const silent_server&) = delete;
  ~silent_server() { ::close(fd); }
};

// A peer that accepts TCP but never speaks: the connect gives up after
// min(timeout_ms, 3 s) without a request deadline (here timeout_ms is the
// default, 10 s).
TEST(pgvector_connection, silent_server_times_out) {
  silent_server silent;
  auto& port = silent.port;
  auto start = std::chrono::steady_clock::now();
  auto [code, what] = error_of("pgvector://u:pw@127.0.0.1:" + port + "/db");
  EXPECT_EQ(code, errc::backend_unavailable);
  EXPECT_NE(what.find("127.0.0.1:" + port), std::string::npos) << what;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// Made for a request (as a pool's worker makes its adapter), the connect to
// a silent server ends by that request's deadline, not after 3 s.
TEST(pgvector_connection,
     an_adapter_made_for_a_request_connects_by_its_deadline) {
  silent_server silent;
  auto uri = "pgvector://u:pw@127.0.0.1:" + silent.port + "/db";
  auto start = std::chrono::steady_clock::now();
  auto code = code_of([&] {
    make_pgvector_store(store_uri::parse(uri), 0, 1,
                        start + std::chrono::milliseconds(300))
        ->count("abc");
  });
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(code == errc::timeout || code == errc::backend_unavailable)
      << to_string(code);
  EXPECT_LT(took, std::chrono::milliseconds(1500));
}

// The server ends our session (as on a restart): the next call reconnects.
TEST_F(pgvector, reconnects_after_the_session_is_killed) {
  make(2);
  store->upsert(name, {rec("a", {1, 1})});
  auto uri = store_uri::parse(test::pgvector_uri());
  std::string conninfo =
      "host=" + uri.host() + " port=" + std::to_string(uri.port()) +
      " dbname=" + uri.path().substr(1) + " user=" + uri.user() +
      " password=" + uri.password() + " connect_timeout=3";
  PGconn* admin = PQconnectdb(conninfo.c_str());
  ASSERT_EQ(PQstatus(admin), CONNECTION_OK) << PQerrorMessage(admin);
  auto app = "storage-runtime/" + std::to_string(::getpid());
  const char* values[] = {app.c_str()};
  PGresult* r = PQexecParams(admin,
                             "SELECT pg_terminate_backend(pid) FROM "
                             "pg_stat_activity WHERE application_name = $1",
                             1, nullptr, values, nullptr, nullptr, 0);
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  EXPECT_GE(PQntuples(r), 1);
  PQclear(r);
  PQfinish(admin);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(store->count(name), 1u);
  EXPECT_EQ(store->get(name, {"a"}).size(), 1u);
}

}  // namespace
}  // namespace storage
