// A server that is frozen (SIGSTOP), not gone: every request still ends by
// its deadline with timeout, max_inflight holds while requests pile up, and
// traffic recovers by itself once the server runs again (SIGCONT).
#include <signal.h>

#include <thread>

#include <gtest/gtest.h>

#include <caf/scoped_actor.hpp>

#include "messages/caf_support.hpp"
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

// An actor's requests queued behind one stuck on a frozen server: the stuck
// one times out and drops its connection, and those behind it must not
// spend more than their own deadline reconnecting to the frozen server
// (the new connection's setup once waited a whole timeout_ms more).
TEST(ServerPaused, RequestsQueuedBehindAStuckOneEndByTheirOwnDeadline) {
  using clock = std::chrono::steady_clock;
  runtime rt;
  auto ns = "queued" + unique_token();
  auto cache = rt.open_cache(
      with_param(redis_uri(), "pool=1&timeout_ms=2000&namespace=" + ns));
  await(cache.set("k", "v"));
  caf::scoped_actor self{rt.system()};
  frozen stop(redis_pid());
  auto start = clock::now();
  auto set = [&](const std::string& key) {
    return self->request(cache.actor(), caf::infinite, cset_atom::value,
                         cache_entry{key, "written", {}});
  };
  auto stuck = set("w0");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::vector<decltype(stuck)> queued;
  for (int i = 1; i <= 5; ++i) queued.push_back(set("q" + std::to_string(i)));
  auto answer = [&](auto& handle, const char* what) {
    errc code = errc::ok;
    handle.receive(
        [](bool) {},
        [&](caf::error& e) { code = from_caf_error(e, "set", "").code(); });
    auto at = std::chrono::duration_cast<std::chrono::milliseconds>(
                  clock::now() - start)
                  .count();
    EXPECT_EQ(code, errc::timeout) << what;
    return at;
  };
  // w0's deadline is at 2000 ms, the others' at 3000 ms.
  EXPECT_LT(answer(stuck, "w0"), 2600);
  for (auto& q : queued) EXPECT_LT(answer(q, "a queued set"), 3600);
  stop.thaw();
  // None of the timed-out sets is written once the server runs again.
  std::optional<std::string> got;
  for (int attempt = 0; attempt < 50; ++attempt) {
    try {
      got = await(cache.get("q5"));
      break;
    } catch (const store_error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_EQ(got, std::nullopt);
  for (const char* k : {"q1", "q2", "q3", "q4"})
    EXPECT_EQ(await(cache.get(k)), std::nullopt) << k;
  await(cache.clear());
}

}  // namespace
}  // namespace storage::srv
