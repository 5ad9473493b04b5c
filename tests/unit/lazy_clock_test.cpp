// What the runtime's clock (runtime/lazy_actor_clock.hpp) must keep while
// it wakes its thread less than CAF's: every timer fires, none early; a timer
// due sooner than the one the thread sleeps for wakes it; request timeouts
// still end requests nobody answers; and requests answered in time leave the
// thread asleep (CAF's clock woke it once per request).
#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <random>
#include <thread>

#include <caf/all.hpp>

#include "runtime/lazy_actor_clock.hpp"
#include "runtime/runtime.hpp"

namespace storage::test {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

lazy_actor_clock& clock_of(runtime& rt) {
  auto* c = dynamic_cast<lazy_actor_clock*>(&rt.system().clock());
  if (!c) throw std::runtime_error("the runtime does not run lazy_actor_clock");
  return *c;
}

std::int64_t ticks(steady::time_point t) {
  return t.time_since_epoch().count();
}

// Collects (due, arrived) of every int64 it is sent; `done` once `expected`
// arrived.
struct arrivals {
  std::mutex mtx;
  std::vector<std::pair<std::int64_t, std::int64_t>> seen;
  std::size_t expected = 0;
  std::promise<void> done;
};

caf::actor spawn_collector(runtime& rt, std::shared_ptr<arrivals> a) {
  return rt.system().spawn(
      [](caf::event_based_actor*, std::shared_ptr<arrivals> a) {
        return caf::behavior{[a](std::int64_t due) {
          std::lock_guard<std::mutex> g(a->mtx);
          a->seen.emplace_back(due, ticks(steady::now()));
          if (a->seen.size() == a->expected) a->done.set_value();
        }};
      },
      std::move(a));
}

TEST(lazy_clock, is_the_clock_every_runtime_runs) {
  runtime rt;
  EXPECT_NO_THROW(clock_of(rt));
}

TEST(lazy_clock, a_timer_due_sooner_wakes_the_thread_sleeping_for_a_later_one) {
  runtime rt;
  auto a = std::make_shared<arrivals>();
  a->expected = 1;
  auto got = a->done.get_future();
  auto sink = spawn_collector(rt, a);
  // The thread sleeps until the 60 s timer; the 20 ms one must wake it.
  caf::delayed_anon_send(sink, 60s, std::int64_t{0});
  std::this_thread::sleep_for(10ms);
  auto due = steady::now() + 20ms;
  caf::delayed_anon_send(sink, 20ms, ticks(due));
  ASSERT_EQ(got.wait_for(10s), std::future_status::ready)
      << "a 20 ms timer did not fire while the clock slept for a 60 s one";
  EXPECT_GE(a->seen[0].second, a->seen[0].first) << "fired early";
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}

TEST(lazy_clock, timers_from_many_threads_all_fire_and_none_early) {
  runtime rt;
  constexpr int threads = 4, per_thread = 150;
  auto a = std::make_shared<arrivals>();
  a->expected = threads * per_thread;
  auto got = a->done.get_future();
  auto sink = spawn_collector(rt, a);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < per_thread; ++i) {
        auto delay = std::chrono::microseconds(rng() % 30000);
        caf::delayed_anon_send(sink, delay, ticks(steady::now() + delay));
        if (i % 10 == 0) std::this_thread::sleep_for(1ms);
      }
    });
  for (auto& t : ts) t.join();
  ASSERT_EQ(got.wait_for(20s), std::future_status::ready)
      << a->seen.size() << " of " << a->expected << " timers fired";
  std::lock_guard<std::mutex> g(a->mtx);
  for (auto& [due, arrived] : a->seen) EXPECT_GE(arrived, due);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}

TEST(lazy_clock, a_request_nobody_answers_times_out) {
  runtime rt;
  // Takes every request and never answers it.
  auto silent = rt.system().spawn(
      [](caf::event_based_actor* self, int) {
        auto held = std::make_shared<std::vector<caf::response_promise>>();
        return caf::behavior{[self, held](int) -> caf::result<int> {
          held->push_back(self->make_response_promise());
          return caf::delegated<int>{};
        }};
      },
      0);
  caf::scoped_actor self{rt.system()};
  auto began = steady::now();
  caf::error err;
  self->request(silent, 50ms, 1)
      .receive([](int) {}, [&](caf::error& e) { err = e; });
  EXPECT_EQ(err, caf::sec::request_timeout);
  EXPECT_GE(steady::now() - began, 50ms);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

TEST(lazy_clock, requests_answered_in_time_leave_the_thread_asleep) {
  runtime rt;
  auto echo = rt.system().spawn(
      [](caf::event_based_actor*, int) {
        return caf::behavior{[](int x) { return x; }};
      },
      0);
  caf::scoped_actor self{rt.system()};
  // One timer due long after the test keeps the thread's plan fixed.
  caf::delayed_anon_send(echo, 60s, 0);
  std::this_thread::sleep_for(20ms);
  auto before = clock_of(rt).wakeups();
  constexpr int n = 2000;
  int answered = 0;
  for (int i = 0; i < n; ++i)
    self->request(echo, 60s, i)
        .receive([&](int x) { answered += x == i; }, [](caf::error&) {});
  auto woke = clock_of(rt).wakeups() - before;
  EXPECT_EQ(answered, n);
  // CAF's clock wakes once per request (n times); a few wake-ups are
  // allowed for the events that pile up (lazy_actor_clock::max_queued).
  EXPECT_LT(woke, std::size_t{n / 100}) << woke << " wake-ups for " << n;
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace storage::test
