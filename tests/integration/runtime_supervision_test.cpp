// A worker that dies is respawned by its router with backoff; callers get a
// fast error meanwhile (or their answer, where they run the request on their
// own thread), never a hang, and traffic resumes by itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <caf/all.hpp>

#include "actors/routing/cache_router.hpp"
#include "actors/routing/vector_router.hpp"
#include "runtime/runtime.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

template <class Router, class Handle>
std::vector<caf::actor> workers_of(runtime& rt, const Handle& h) {
  caf::scoped_actor self{rt.system()};
  std::vector<caf::actor> out;
  self->request(caf::actor_cast<Router>(h), caf::infinite, workers_atom::value)
      .receive([&](std::vector<caf::actor>& ws) { out = std::move(ws); },
               [&](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
  return out;
}

// Retries `fn` until it succeeds or two seconds pass; returns attempts.
template <class Fn>
int until_ok(Fn fn) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (int attempt = 1;; ++attempt) {
    try {
      fn();
      return attempt;
    } catch (const store_error& e) {
      EXPECT_EQ(e.code(), errc::backend_unavailable) << e.what();
      if (std::chrono::steady_clock::now() > deadline) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

TEST(supervision, killed_cache_workers_are_respawned) {
  runtime rt;
  auto dir = fresh_dir();
  auto cache = rt.open_cache("sqlite://" + dir + "/c.db?pool=2");
  await(cache.set("k", "v"));
  // Both slots hold workers, and none is one killed before: a request may
  // be answered (on the caller's thread) before the router has even seen
  // the deaths.
  std::vector<caf::actor> killed;
  auto all_alive = [&] {
    auto ws = workers_of<cache_router_actor>(rt, cache.actor());
    return std::all_of(ws.begin(), ws.end(), [&](auto& w) {
      return w && std::find(killed.begin(), killed.end(), w) == killed.end();
    });
  };
  for (int round = 0; round < 10; ++round) {
    // Both slots are filled again within the backoff.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!all_alive() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto ws = workers_of<cache_router_actor>(rt, cache.actor());
    ASSERT_EQ(ws.size(), 2u);
    for (auto& w : ws) {
      ASSERT_TRUE(w) << "round " << round;
      caf::anon_send_exit(w, caf::exit_reason::kill);
      killed.push_back(w);
    }
    until_ok([&] { EXPECT_EQ(await(cache.get("k")), "v"); });
  }
  // The data lives in the file, so nothing was lost with the workers.
  until_ok([&] { EXPECT_EQ(await(cache.get("k")), "v"); });
}

TEST(supervision, killed_faiss_shard_recovers_its_data_from_disk) {
  runtime rt;
  auto vs = rt.open_vector("faiss://" + fresh_dir() + "?pool=2");
  await(vs.create_collection({"sup", 2, metric::l2}));
  std::vector<vector_record> rs;
  for (int i = 0; i < 50; ++i)
    rs.push_back({"id" + std::to_string(i), {float(i), 0}, {}, std::nullopt});
  await(vs.upsert("sup", rs));
  auto ws = workers_of<vector_router_actor>(rt, vs.actor());
  ASSERT_EQ(ws.size(), 2u);
  caf::anon_send_exit(ws[0], caf::exit_reason::kill);
  // Until the router has seen the death, a caller may still be answered on
  // its own thread, and during the backoff it is turned away; wait for the
  // new worker, which has only the disk to load its shard from.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (;;) {
    auto now = workers_of<vector_router_actor>(rt, vs.actor());
    ASSERT_EQ(now.size(), 2u);
    if (now[0] && now[0] != ws[0]) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "shard 0 was not respawned";
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  until_ok([&] { EXPECT_EQ(await(vs.count("sup")), 50u); });
  search_request q;
  q.query = {10.2f, 0};
  q.k = 1;
  until_ok([&] { EXPECT_EQ(await(vs.search("sup", q)).at(0).id, "id10"); });
}

}  // namespace
}  // namespace storage::test
