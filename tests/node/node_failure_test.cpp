// A serving node that dies, freezes or is not there yet costs its clients
// errors within their deadlines -- never a hang -- and the same client
// handle works again once the node is back, without restarting the client.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <caf/all.hpp>

#include "messages/caf_support.hpp"
#include "messages/errors.hpp"
#include "messages/interfaces.hpp"
#include "runtime/runtime.hpp"
#include "support/served_node.hpp"
#include "support/test_util.hpp"

namespace storage {
namespace {

using clock_type = std::chrono::steady_clock;
using test::fresh_dir;

// How much later than its deadline a failed call may end: scheduling on a
// busy 2-core machine, not a protocol allowance.
constexpr auto slack = std::chrono::milliseconds(1500);

std::map<std::string, std::string> node_stores(const std::string& dir) {
  return {{"cache", "sqlite://" + dir + "/c.db"},
          {"vectors", "faiss://" + dir + "/faiss"}};
}

struct outcome {
  bool ok = false;
  errc code = errc::internal;
  clock_type::duration took{};
};

// One call, timed; its future must be ready within deadline + slack.
template <class F>
outcome timed(F call, std::chrono::milliseconds deadline) {
  auto start = clock_type::now();
  auto fut = call();
  outcome o;
  if (fut.wait_for(deadline + slack) != std::future_status::ready) {
    ADD_FAILURE() << "a call to the node hung past its deadline";
    o.took = clock_type::now() - start;
    return o;
  }
  try {
    fut.get();
    o.ok = true;
  } catch (const store_error& e) {
    o.code = e.code();
  }
  o.took = clock_type::now() - start;
  return o;
}

// Calls until one succeeds, for at most `limit`; false if none did.
template <class F>
bool recovers(F call, std::chrono::seconds limit) {
  auto until = clock_type::now() + limit;
  while (clock_type::now() < until) {
    if (timed(call, std::chrono::milliseconds(2000)).ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool node_failure(errc c) {
  return c == errc::backend_unavailable || c == errc::timeout;
}

TEST(node_failure, killed_node_fails_calls_in_time_and_the_client_recovers) {
  auto dir = fresh_dir();
  test::served_node node(node_stores(dir));
  runtime rt;
  const auto deadline = std::chrono::milliseconds(2000);
  auto cache = rt.open_cache(node.uri("cache") + "?timeout_ms=2000");

  // Sixteen callers (enough that their requests share batches on the link)
  // write their own keys until the node is killed, and go on a while
  // after; every acknowledged write is remembered.
  std::atomic<bool> killed{false}, stop{false};
  std::mutex mtx;
  std::map<std::string, std::string> acknowledged;
  std::vector<outcome> after_kill;
  std::vector<std::thread> callers;
  for (int t = 0; t < 16; ++t)
    callers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        auto key = "k" + std::to_string(t) + "_" + std::to_string(i);
        auto value = "v" + std::to_string(i);
        bool was_killed = killed;
        auto o = timed([&] { return cache.set(key, value); }, deadline);
        std::lock_guard<std::mutex> guard(mtx);
        if (o.ok) acknowledged[key] = value;
        if (was_killed) after_kill.push_back(o);
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  node.kill();
  killed = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  stop = true;
  for (auto& c : callers) c.join();

  ASSERT_FALSE(acknowledged.empty()) << "no write went through before";
  ASSERT_FALSE(after_kill.empty());
  for (auto& o : after_kill) {
    EXPECT_FALSE(o.ok) << "a write succeeded on a dead node";
    EXPECT_TRUE(node_failure(o.code)) << to_string(o.code);
    EXPECT_LE(o.took, deadline + slack);
  }

  // The same handle works again once the node is back, and every write it
  // acknowledged before the kill is there (SQLite is durable).
  node.restart();
  ASSERT_TRUE(
      recovers([&] { return cache.exists("k0_0"); }, std::chrono::seconds(15)))
      << node.log();
  for (auto& [key, value] : acknowledged) {
    auto got = test::await(cache.get(key));
    ASSERT_TRUE(got.has_value()) << key << " was acknowledged and is gone";
    EXPECT_EQ(*got, value);
  }
}

TEST(node_failure, frozen_node_times_out_within_the_deadline_then_recovers) {
  auto dir = fresh_dir();
  test::served_node node(node_stores(dir));
  runtime rt;
  const auto deadline = std::chrono::milliseconds(1000);
  auto cache = rt.open_cache(node.uri("cache") + "?timeout_ms=1000");
  test::await(cache.set("before", "1"));

  node.signal(SIGSTOP);
  // In flight and new, for longer than the heartbeat timeout: timeout while
  // the connection still looks alive, backend_unavailable once the
  // heartbeats declared it dead -- each within its deadline.
  std::vector<outcome> frozen;
  auto until = clock_type::now() + std::chrono::seconds(5);
  std::vector<std::future<bool>> in_flight;
  for (int i = 0; i < 8; ++i) in_flight.push_back(cache.exists("before"));
  while (clock_type::now() < until)
    frozen.push_back(timed([&] { return cache.set("during", "x"); }, deadline));
  for (auto& f : in_flight) {
    ASSERT_EQ(f.wait_for(deadline + slack), std::future_status::ready);
    EXPECT_THROW(f.get(), store_error);
  }
  bool saw_timeout = false;
  for (auto& o : frozen) {
    EXPECT_FALSE(o.ok);
    EXPECT_TRUE(node_failure(o.code)) << to_string(o.code);
    EXPECT_LE(o.took, deadline + slack);
    saw_timeout |= o.code == errc::timeout;
  }
  EXPECT_TRUE(saw_timeout) << "a frozen node should first cost timeouts";

  node.signal(SIGCONT);
  EXPECT_TRUE(recovers([&] { return cache.exists("before"); },
                       std::chrono::seconds(15)))
      << node.log();
  EXPECT_EQ(test::await(cache.get("before")), std::optional<std::string>("1"));
}

// The requests a frozen node finds waiting when it runs again had their
// deadline pass meanwhile: their callers were told `timeout`, and the node
// must not start them now (a worker never starts a request whose deadline
// has passed), so none of those writes takes effect.
TEST(node_failure, a_frozen_node_does_not_run_requests_whose_deadline_passed) {
  auto dir = fresh_dir();
  test::served_node node(node_stores(dir));
  runtime rt;
  auto cache = rt.open_cache(node.uri("cache") + "?timeout_ms=500");
  for (int i = 0; i < 5; ++i) test::await(cache.set("before", "1"));

  node.signal(SIGSTOP);
  std::vector<std::future<void>> sets;
  for (int i = 0; i < 4; ++i)
    sets.push_back(cache.set("late" + std::to_string(i), "written"));
  for (auto& f : sets) {
    ASSERT_EQ(f.wait_for(std::chrono::milliseconds(500) + slack),
              std::future_status::ready);
    try {
      f.get();
      ADD_FAILURE() << "a set to a frozen node succeeded";
    } catch (const store_error& e) {
      EXPECT_EQ(e.code(), errc::timeout) << e.what();
    }
  }
  // Frozen a while longer, but not as long as the heartbeats allow.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  node.signal(SIGCONT);
  EXPECT_TRUE(recovers([&] { return cache.exists("before"); },
                       std::chrono::seconds(15)))
      << node.log();
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(test::await(cache.get("late" + std::to_string(i))), std::nullopt)
        << "late" << i << " was written after its caller got timeout";
}

TEST(node_failure, absent_node_fails_fast_and_the_handle_connects_later) {
  auto dir = fresh_dir();
  test::served_node node(node_stores(dir));
  node.kill();
  runtime rt;
  auto vectors = rt.open_vector(node.uri("vectors") + "?timeout_ms=3000");
  auto o = timed([&] { return vectors.list_collections(); },
                 std::chrono::milliseconds(3000));
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.code, errc::backend_unavailable);
  EXPECT_LT(o.took, std::chrono::milliseconds(1000))
      << "a refused connection is known at once";

  node.restart();
  EXPECT_TRUE(recovers([&] { return vectors.list_collections(); },
                       std::chrono::seconds(15)))
      << node.log();
  EXPECT_TRUE(test::await(vectors.create_collection({"late", 2, metric::l2})));
}

// Actor code holds the same typed handle and sees the same errors.
TEST(node_failure, actor_callers_get_errors_not_silence) {
  auto dir = fresh_dir();
  test::served_node node(node_stores(dir));
  runtime rt;
  auto cache = rt.open_cache(node.uri("cache") + "?timeout_ms=2000");
  caf::scoped_actor self{rt.system()};
  std::optional<store_error> last;
  auto ask = [&] {
    std::optional<errc> failure;
    bool ok = false;
    self->request(cache.actor(), std::chrono::seconds(10), cset_atom::value,
                  cache_entry{"a", "1", {}})
        .receive([&](bool) { ok = true; },
                 [&](caf::error& e) {
                   // No context given: the error names its own.
                   last = from_caf_error(e, "", "");
                   failure = last->code();
                 });
    return ok ? std::optional<errc>() : failure;
  };
  ASSERT_EQ(ask(), std::nullopt);
  node.kill();
  auto start = clock_type::now();
  auto failure = ask();
  ASSERT_TRUE(failure.has_value());
  EXPECT_TRUE(node_failure(*failure)) << to_string(*failure);
  EXPECT_EQ(last->operation(), "set") << last->what();
  EXPECT_EQ(last->store().rfind("caf://", 0), 0u) << last->what();
  EXPECT_LE(clock_type::now() - start, std::chrono::milliseconds(2000) + slack);
}

}  // namespace
}  // namespace storage
