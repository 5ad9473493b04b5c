// A server that is frozen (SIGSTOP), not gone: every request still ends by
// its deadline with timeout, max_inflight holds while requests pile up, and
// traffic recovers by itself once the server runs again (SIGCONT).
#include <signal.h>

#include <thread>

#include <gtest/gtest.h>

#include "runtime/runtime.hpp"
#include "server_support.hpp"

namespace storage::srv {
namespace {

using namespace storage::test;

// The Redis server's pid, from its own INFO.
pid_t redis_pid() {
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

TEST(ServerPaused, RedisRequestsEndByTheirDeadlineAndRecover) {
  runtime rt;
  auto cache = rt.open_cache(with_param(
      redis_uri(),
      "timeout_ms=500&max_inflight=4&namespace=paused" + unique_token()));
  await(cache.set("k", "v"));
  frozen stop(redis_pid());
  auto start = std::chrono::steady_clock::now();
  std::vector<std::future<std::optional<std::string>>> gets;
  for (int i = 0; i < 10; ++i) gets.push_back(cache.get("k"));
  int timed_out = 0, overloaded = 0;
  for (auto& g : gets) {
    try {
      await(std::move(g));
    } catch (const store_error& e) {
      if (e.code() == errc::timeout) ++timed_out;
      if (e.code() == errc::overloaded) ++overloaded;
    }
  }
  // The first get found its connection idle and ran on this thread until
  // its deadline; a call that timed out sends the next ones to the worker's
  // thread (actors/pool/inline_policy.hpp). Of those, four are admitted and
  // wait on the frozen server; the rest are refused.
  EXPECT_EQ(timed_out, 5);
  EXPECT_EQ(overloaded, 5);
  // Every answer came by the 500 ms deadline, give or take scheduling.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  stop.thaw();
  // The connections that timed out reconnect by themselves; within a few
  // tries the same store answers again.
  std::optional<std::string> got;
  for (int attempt = 0; attempt < 50 && !got; ++attempt) {
    try {
      got = await(cache.get("k"));
    } catch (const store_error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_EQ(got, "v");
}

}  // namespace
}  // namespace storage::srv
