// Helpers of the server tests: the real servers (scripts/services.sh, psql,
// redis-cli), a guard that always restarts a stopped server, bounded waits on
// futures, and this process's own TCP connections to a server port.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "messages/errors.hpp"
#include "messages/store_uri.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

#ifndef STORAGE_SOURCE_DIR
#error "server_tests need STORAGE_SOURCE_DIR (see tests/CMakeLists.txt)"
#endif

namespace storage::srv {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Runs a shell command; returns its stdout (trailing newlines removed).
inline std::string shell(const std::string& cmd, int* status = nullptr) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    int rc = pclose(p);
    if (status) *status = rc;
  } else if (status) {
    *status = -1;
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// scripts/services.sh ARGS; returns its exit status.
inline int services(const std::string& args) {
  return std::system((std::string(STORAGE_SOURCE_DIR) +
                      "/scripts/services.sh " + args + " >/dev/null 2>&1")
                         .c_str());
}

// Stops a shared server and always starts it again, even when an assertion
// fails or an exception leaves the test: later tests need it.
class stopped_service {
 public:
  explicit stopped_service(std::string name) : name_(std::move(name)) {
    EXPECT_EQ(services("stop " + name_), 0) << "cannot stop " << name_;
  }
  ~stopped_service() { start(); }
  stopped_service(const stopped_service&) = delete;
  stopped_service& operator=(const stopped_service&) = delete;

  // Idempotent; returns the script's exit status.
  int start() {
    if (started_) return 0;
    started_ = true;
    return services("start " + name_);
  }

 private:
  std::string name_;
  bool started_ = false;
};

// A loopback port where nothing listens (bound, then closed again).
inline std::string free_endpoint() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

// A loopback port that accepts connections into its backlog and never
// answers: a server that is there but frozen. Closed on destruction.
class silent_listener {
 public:
  silent_listener() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 64), 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    endpoint_ = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  }
  ~silent_listener() { close(fd_); }
  silent_listener(const silent_listener&) = delete;
  silent_listener& operator=(const silent_listener&) = delete;
  const std::string& endpoint() const { return endpoint_; }

 private:
  int fd_;
  std::string endpoint_;
};

// psql against the pgvector test database; one value per row, '|' between
// columns.
inline std::string psql(const std::string& sql) {
  auto u = store_uri::parse(test::pgvector_uri());
  std::string db = u.path();
  if (!db.empty() && db.front() == '/') db.erase(0, 1);
  return shell("PGPASSWORD='" + u.password() + "' psql -X -q -t -A -h " +
               u.host() + " -p " + std::to_string(u.port()) + " -U " +
               u.user() + " -d " + db + " -c \"" + sql + "\" 2>&1");
}

// The PostgreSQL backends serving the test role, not psql's own (to
// freeze them with SIGSTOP).
inline std::vector<pid_t> pg_backends() {
  std::vector<pid_t> out;
  std::istringstream rows(
      psql("SELECT pid FROM pg_stat_activity WHERE usename = current_user AND "
           "pid <> pg_backend_pid()"));
  for (std::string line; std::getline(rows, line);)
    if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0])))
      out.push_back(static_cast<pid_t>(std::stol(line)));
  return out;
}

// redis-cli on the redis test server.
inline std::string redis_cli(const std::string& args) {
  auto u = store_uri::parse(test::redis_uri());
  std::string cmd =
      "redis-cli -h " + u.host() + " -p " + std::to_string(u.port());
  if (!u.password().empty())
    cmd += " --no-auth-warning -a '" + u.password() + "'";
  return shell(cmd + " " + args + " 2>&1");
}

inline std::uint16_t port_of(const std::string& uri) {
  return store_uri::parse(uri).port();
}

// The local ports of this process's established TCP connections to
// `remote_port` (read from /proc: the sockets among our own fds).
inline std::set<std::uint16_t> own_connections(std::uint16_t remote_port) {
  std::set<std::string> inodes;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      char target[128];
      std::string path = std::string("/proc/self/fd/") + e->d_name;
      auto n = readlink(path.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      std::string t(target, static_cast<std::size_t>(n));
      if (t.rfind("socket:[", 0) == 0) inodes.insert(t.substr(8, t.size() - 9));
    }
    closedir(d);
  }
  std::set<std::uint16_t> ports;
  for (const char* table : {"/proc/self/net/tcp", "/proc/self/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream row(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, tmo, ino;
      row >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >>
          tmo >> ino;
      if (state != "01" || !inodes.count(ino)) continue;  // 01: established
      auto rport = std::stoul(remote.substr(remote.find(':') + 1), nullptr, 16);
      auto lport = std::stoul(local.substr(local.find(':') + 1), nullptr, 16);
      if (rport == remote_port) ports.insert(static_cast<std::uint16_t>(lport));
    }
  }
  return ports;
}

// How one request ended: errc::ok, a store_error's code, or `hung` when the
// future was not ready in time (it is then abandoned, never waited on).
struct outcome {
  bool hung = false;
  errc code = errc::ok;
  std::string what;
};

template <class T>
outcome settle(std::future<T>& f, std::chrono::milliseconds bound) {
  outcome o;
  if (f.wait_for(bound) != std::future_status::ready) {
    o.hung = true;
    return o;
  }
  try {
    f.get();
  } catch (const store_error& e) {
    o.code = e.code();
    o.what = e.what();
  } catch (const std::exception& e) {
    o.code = errc::internal;
    o.what = std::string("not a store_error: ") + e.what();
  }
  return o;
}

// Polls `fn` (which returns true on success and may throw) until it
// succeeds or `limit` passes; returns whether it succeeded.
template <class F>
bool eventually(F&& fn, std::chrono::milliseconds limit) {
  auto end = clock_type::now() + limit;
  do {
    try {
      if (fn()) return true;
    } catch (const std::exception&) {
      // Not yet: the server is still coming back.
    }
    std::this_thread::sleep_for(100ms);
  } while (clock_type::now() < end);
  return false;
}

// A deterministic generator (splitmix64), the same on every platform.
class rng {
 public:
  explicit rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  std::uint64_t below(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t s_;
};

// The Redis server's pid, from its own INFO.
inline pid_t redis_pid() {
  auto info = redis_cli("INFO server");
  auto at = info.find("process_id:");
  EXPECT_NE(at, std::string::npos) << info;
  return static_cast<pid_t>(std::stol(info.substr(at + 11)));
}

// Stops the process now and lets it run again when it goes out of scope,
// whatever the test did in between.
struct frozen {
  explicit frozen(pid_t p) : pid(p) { EXPECT_EQ(::kill(pid, SIGSTOP), 0); }
  void thaw() {
    if (pid) ::kill(pid, SIGCONT);
    pid = 0;
  }
  ~frozen() { thaw(); }
  pid_t pid;
};

}  // namespace storage::srv
