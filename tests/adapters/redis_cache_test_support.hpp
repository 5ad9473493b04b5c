// Helpers of redis_cache_test.cpp: URIs on the test server, redis-cli for
// keys outside any namespace, scripts/services.sh, error expectations.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "adapters/factories.hpp"
#include "messages/errors.hpp"
#include "support/servers.hpp"

namespace storage::redis_test {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// From the build (not __FILE__, which ccache's base_dir makes relative).
inline const std::string repo_root = std::string(STORAGE_SOURCE_DIR) + "/";

inline store_uri server() {
  return store_uri::parse(test::redis_uri());
}

inline std::string unique(const std::string& base) {
  static int n = 0;
  auto* info = testing::UnitTest::GetInstance()->current_test_info();
  return base + "-" + info->name() + "-" + std::to_string(getpid()) + "-" +
         std::to_string(++n);
}

// A redis:// URI on the test server with another namespace, db or params.
inline std::string uri_for(const std::string& ns, int db = 0,
                           const std::string& extra = "") {
  auto s = server();
  std::string auth = s.password().empty() ? "" : ":" + s.password() + "@";
  return "redis://" + auth + s.host() + ":" + std::to_string(s.port()) + "/" +
         std::to_string(db) + "?namespace=" + ns + extra;
}

inline std::unique_ptr<cache_backend> open(const std::string& uri) {
  return make_redis_cache(store_uri::parse(uri), 0, 1);
}

// redis-cli on the test server, for keys outside any namespace.
inline std::string cli(const std::string& args, int db = 0) {
  auto s = server();
  std::string cmd = "redis-cli -h " + s.host() + " -p " +
                    std::to_string(s.port()) + " -n " + std::to_string(db);
  if (!s.password().empty())
    cmd += " --no-auth-warning -a '" + s.password() + "'";
  cmd += " " + args + " 2>&1";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

inline int services(const std::string& args) {
  return std::system((repo_root + "scripts/services.sh " + args).c_str());
}

// Runs f, expecting store_error with `code`; returns its what().
template <class F>
std::string expect_error(errc code, F&& f) {
  try {
    f();
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no store_error, expected " << to_string(code);
  return {};
}

// Every key comes back with its value and TTL; Redis SCAN may repeat a key
// if the server resizes its table meanwhile, so the check is on the set of
// keys, and no page exceeds its limit.
inline std::map<std::string, cache_entry> scan_all(cache_backend& c,
                                                   std::uint32_t limit) {
  std::map<std::string, cache_entry> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = c.scan(cursor, limit);
    for (auto& e : page.entries) seen[e.key] = e;
    cursor = page.next_cursor;
    EXPECT_LT(++pages, 1000000);
  } while (!cursor.empty());
  return seen;
}

// A loopback TCP socket on a free port; listening (the kernel accepts
// connections into its backlog, nobody reads) or closed again at once, so
// nothing listens there. Returns the fd (-1 once closed) and "host:port".
inline std::pair<int, std::string> loopback_port(bool listening) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (listening) {
    EXPECT_EQ(listen(fd, 8), 0);
  } else {
    close(fd);
    fd = -1;
  }
  return {fd, "127.0.0.1:" + std::to_string(ntohs(addr.sin_port))};
}

}  // namespace storage::redis_test
