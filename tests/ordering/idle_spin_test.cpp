// What the idle threads' spinning (runtime/spinning_stealing.hpp,
// actors/pool/worker_linger.hpp) must keep: an actor that asks one request
// after the other, the case the spinning serves, gets every reply and every
// error, in order, from workers that reply before they linger; many actors
// at once on one connection (batched, no spinning) likewise; and the count
// of requests in flight that gates the spinning returns to zero, so a store
// that went quiet never keeps a thread spinning nor stops it for good.
#include <gtest/gtest.h>

#include <future>

#include <caf/all.hpp>

#include "actors/pool/pool_gauge.hpp"
#include "runtime/runtime.hpp"
#include "runtime/runtime_scheduler.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

using namespace std::chrono_literals;

// One actor: `rounds` times set k=i, get k, and incr on a value that is no
// number (an error); each from the previous reply. Returns what went wrong,
// empty if nothing did.
std::string ping_pong(runtime& rt, const cache_store_actor& store, int rounds,
                      const std::string& key) {
  auto done = std::make_shared<std::promise<std::string>>();
  auto result = done->get_future();
  // `rounds` goes in as an argument: CAF 0.17 binds a null reference for a
  // function spawned without any (UBSan: init_fun_factory.hpp:85).
  rt.system().spawn(
      [=](caf::event_based_actor* self, int rounds) -> caf::behavior {
        // The behavior holds the step; the step refers to itself weakly, so
        // nothing is left when the actor quits.
        auto step = std::make_shared<std::function<void(int)>>();
        std::weak_ptr<std::function<void(int)>> next = step;
        auto fail = [=](std::string what) {
          done->set_value(std::move(what));
          self->quit();
        };
        *step = [=](int i) {
          if (i == rounds) {
            done->set_value("");
            self->quit();
            return;
          }
          auto value = "v" + std::to_string(i);
          self->request(store, 10s, cset_atom::value,
                        cache_entry{key, value, {}})
              .then(
                  [=](bool) {
                    self->request(store, 10s, cget_atom::value, key)
                        .then(
                            [=](const maybe_value& got) {
                              if (!got.found || got.value != value)
                                return fail("round " + std::to_string(i) +
                                            ": get returned '" + got.value +
                                            "'");
                              self->request(store, 10s, cincr_atom::value, key,
                                            std::int64_t{1})
                                  .then(
                                      [=](std::int64_t) {
                                        fail("round " + std::to_string(i) +
                                             ": incr of a word succeeded");
                                      },
                                      [=](caf::error&) {
                                        if (auto f = next.lock()) (*f)(i + 1);
                                      });
                            },
                            [=](caf::error& e) { fail(caf::to_string(e)); });
                  },
                  [=](caf::error& e) { fail(caf::to_string(e)); });
        };
        (*step)(0);
        return {[step](caf::unit_t) {}};
      },
      rounds);
  if (result.wait_for(120s) != std::future_status::ready)
    return "no answer within 120 s";
  return result.get();
}

// Spinning threads are a matter of time, not of results; the count that
// gates them must not leak.
void expect_nothing_in_flight() {
  for (int i = 0; i < 100 && requests_in_flight() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(requests_in_flight(), 0u);
}

TEST(idle_spin, the_runtime_schedules_with_the_spinning_policy) {
  runtime rt;
  EXPECT_NE(dynamic_cast<runtime_scheduler*>(&rt.system().scheduler()),
            nullptr);
}

TEST(idle_spin, one_actor_asking_back_to_back_gets_every_reply_on_sqlite) {
  runtime rt;
  auto cache = rt.open_cache("sqlite://" + fresh_dir() + "/spin.db");
  EXPECT_EQ(ping_pong(rt, cache.actor(), 500, "k"), "");
  expect_nothing_in_flight();
}

TEST(idle_spin, one_actor_asking_back_to_back_gets_every_reply_on_redis) {
  runtime rt;
  auto cache =
      rt.open_cache(with_param(redis_uri(), "namespace=spin" + unique_token()));
  EXPECT_EQ(ping_pong(rt, cache.actor(), 500, "k"), "");
  await(cache.clear());
  expect_nothing_in_flight();
}

TEST(idle_spin, many_actors_on_one_connection_get_every_reply) {
  runtime rt;
  auto cache = rt.open_cache(
      with_param(redis_uri(), "pool=1&namespace=spin" + unique_token()));
  std::vector<std::future<std::string>> runs;
  for (int a = 0; a < 16; ++a)
    runs.push_back(std::async(std::launch::async, [&, a] {
      return ping_pong(rt, cache.actor(), 100, "k" + std::to_string(a));
    }));
  for (auto& r : runs) EXPECT_EQ(r.get(), "");
  await(cache.clear());
  expect_nothing_in_flight();
}

}  // namespace
}  // namespace storage::test
