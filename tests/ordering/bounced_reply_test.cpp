// A caller that `send`s requests without a handler for their replies: CAF
// 0.17 sends each reply it does not expect back to whoever answered, as an
// error, and a scheduled actor quits on such an error by default. The
// store's workers and its router (clear on in-process shards goes there)
// drop it instead; a worker that quit lost the requests queued behind.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include <caf/all.hpp>

#include "runtime/runtime.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

constexpr int rounds = 300;

struct bounce_case {
  std::string backend;  // memory, sqlite, redis
  int pool;
};

std::string bounce_name(const ::testing::TestParamInfo<bounce_case>& info) {
  return info.param.backend + "_pool" + std::to_string(info.param.pool);
}

class bounced_replies : public ::testing::TestWithParam<bounce_case> {
 protected:
  void SetUp() override { dir_ = fresh_dir(); }
  std::string uri() {
    auto& p = GetParam();
    std::string base;
    if (p.backend == "memory") base = "memory://";
    if (p.backend == "sqlite") base = "sqlite://" + dir_ + "/bounce.db";
    if (p.backend == "redis") base = redis_uri();
    base = with_param(base, "pool=" + std::to_string(p.pool));
    return with_param(base, "namespace=bounce_" + unique_token());
  }
  std::string dir_;
  runtime rt;
};

TEST_P(bounced_replies, a_caller_that_ignores_replies_stops_no_actor) {
  auto name = uri();
  auto cache = rt.open_cache(name);
  std::promise<std::string> last;
  auto done = last.get_future();
  // The store as an argument: CAF 0.17 binds a null reference for a
  // function spawned without any (UBSan: init_fun_factory.hpp:85).
  rt.system().spawn(
      [&last](caf::event_based_actor* self, cache_store_actor c) {
        // Every reply to a send is unexpected here, and goes back as an error.
        self->set_default_handler(caf::drop);
        for (int i = 0; i < rounds; ++i) {
          auto key = "k" + std::to_string(i);
          self->send(c, cset_atom::value, cache_entry{key, "v1", {}});
          if (i % 10 == 0) self->send(c, cclear_atom::value);
          self->send(c, cset_atom::value, cache_entry{key, "v2", {}});
        }
        self->request(c, caf::infinite, cget_atom::value,
                      "k" + std::to_string(rounds - 1))
            .then(
                [self, &last](const maybe_value& v) {
                  last.set_value(v.found ? v.value : "");
                  self->quit();
                },
                [self, &last](caf::error&) {
                  last.set_value("error");
                  self->quit();
                });
        return caf::behavior{[](const std::string&) {}};
      },
      cache.actor());
  ASSERT_EQ(done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(done.get(), "v2");
  // The bounced errors arrive after the replies: a request after them
  // meets the same workers, and every request took effect in order: the
  // last clear (round 290) left the keys set after it.
  std::vector<std::string> keys;
  for (int i = 0; i < rounds; ++i) keys.push_back("k" + std::to_string(i));
  auto got = await(cache.mget(keys));
  ASSERT_EQ(got.size(), keys.size());
  for (int i = 0; i < rounds; ++i)
    EXPECT_EQ(got[i], i >= 290 ? std::optional<std::string>("v2")
                               : std::optional<std::string>())
        << keys[i];
  // A worker that quit on a late bounce would be respawning by now.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(await(cache.get("k299")), std::optional<std::string>("v2"));
  auto s = rt.stats(name);
  EXPECT_EQ(s.respawns, 0u);
  EXPECT_EQ(s.live_workers, static_cast<std::uint32_t>(GetParam().pool));
}

INSTANTIATE_TEST_SUITE_P(backends, bounced_replies,
                         ::testing::Values(bounce_case{"memory", 1},
                                           bounce_case{"memory", 4},
                                           bounce_case{"sqlite", 4},
                                           bounce_case{"redis", 1},
                                           bounce_case{"redis", 4}),
                         bounce_name);

}  // namespace
}  // namespace storage::test
