// A runtime destroyed while its calls wait on a frozen server: the callers
// waiting for an answer are let go at once with backend_unavailable, and
// the destructor returns once the requests already running end by their
// deadline -- not later, and not by a hang.
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/runtime.hpp"
#include "server_support.hpp"

namespace storage::srv {
namespace {

// What the destructor may take beyond the deadline. (Under ThreadSanitizer
// it once took 5.8 s for 3 s: a worker that made its adapter at the first
// request logged in to the frozen server with a fresh timeout_ms of its
// own; adapters are now made under the request's deadline.)
constexpr auto shutdown_slack = std::chrono::seconds(1);

using namespace storage::test;
using shutdown_clock = std::chrono::steady_clock;

struct call_end {
  errc code = errc::ok;
  shutdown_clock::time_point at;
};

// Calls `n` operations from threads of their own while the server is
// frozen, destroys the runtime, and reports how each ended.
template <class Store, class Call>
void destroy_while_frozen(std::unique_ptr<runtime> rt, Store store,
                          std::vector<pid_t> pids, Call call,
                          std::chrono::milliseconds deadline) {
  std::vector<frozen> stopped;
  stopped.reserve(pids.size());  // never moved: a moved copy would thaw
  for (auto pid : pids) stopped.emplace_back(pid);
  constexpr int n = 8;
  std::vector<std::future<call_end>> ends;
  for (int i = 0; i < n; ++i)
    ends.push_back(std::async(std::launch::async, [&store, &call] {
      call_end e;
      try {
        call(store);
      } catch (const store_error& err) {
        e.code = err.code();
      }
      e.at = shutdown_clock::now();
      return e;
    }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto began = shutdown_clock::now();
  rt.reset();
  auto took = shutdown_clock::now() - began;
  int let_go = 0;
  for (auto& f : ends) {
    auto e = f.get();
    EXPECT_TRUE(e.code == errc::backend_unavailable || e.code == errc::timeout)
        << to_string(e.code);
    // Let go as the destructor began, not at the deadline.
    if (e.code == errc::backend_unavailable &&
        e.at - began < std::chrono::milliseconds(200))
      ++let_go;
  }
  // Those running on a worker or their own thread end by the deadline;
  // every other caller waited, and is let go at once.
  EXPECT_GE(let_go, n - 2);
  EXPECT_LT(took, deadline + shutdown_slack);
}

TEST(ServerPaused, ARuntimeDestroyedLetsWaitingRedisCallersGoAtOnce) {
  auto rt = std::make_unique<runtime>();
  auto cache = rt->open_cache(with_param(
      redis_uri(), "timeout_ms=3000&pool=2&namespace=gone" + unique_token()));
  await(cache.set("k", "v"));
  destroy_while_frozen(
      std::move(rt), cache, {redis_pid()},
      [](cache_store& c) { c.get("k").get(); }, std::chrono::seconds(3));
  // The handle outlived its runtime: later calls fail at once.
  EXPECT_TRUE(
      fails_with(errc::backend_unavailable, [&] { await(cache.get("k")); }));
}

// The test role's backends and the postmaster above them: a connection
// opened after the freeze must not find a server that answers.
std::vector<pid_t> pg_server() {
  auto pids = pg_backends();
  if (pids.empty()) return pids;
  std::ifstream stat("/proc/" + std::to_string(pids[0]) + "/stat");
  std::string pid, name, state;
  pid_t parent = 0;
  stat >> pid >> name >> state >> parent;
  EXPECT_GT(parent, 1) << "no postmaster above backend " << pids[0];
  if (parent > 1) pids.push_back(parent);
  return pids;
}

TEST(ServerPaused, ARuntimeDestroyedLetsWaitingPgvectorCallersGoAtOnce) {
  auto rt = std::make_unique<runtime>();
  auto store =
      rt->open_vector(with_param(pgvector_uri(), "timeout_ms=3000&pool=2"));
  auto coll = "gone" + unique_token();
  await(store.create_collection({coll, 2, metric::l2}));
  destroy_while_frozen(
      std::move(rt), store, pg_server(),
      [&coll](vector_store& s) { s.count(coll).get(); },
      std::chrono::seconds(3));
  runtime again;
  await(again.open_vector(pgvector_uri()).drop_collection(coll));
}

}  // namespace
}  // namespace storage::srv
