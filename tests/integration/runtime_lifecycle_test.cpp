// A store handle may outlive its runtime: the runtime's destructor returns
// (it once waited forever for the workers a facade handle kept), and the
// handle's later calls fail with backend_unavailable instead of touching an
// actor system that is gone.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <thread>

#include "runtime/runtime.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

// Destroys `rt` on another thread; a destructor that hangs fails the whole
// run loudly (it cannot be interrupted) instead of timing out silently.
void destroy_within_30s(std::unique_ptr<runtime> rt, const std::string& what) {
  std::atomic<bool> done{false};
  std::thread closer([&] {
    rt.reset();
    done = true;
  });
  for (int i = 0; i < 3000 && !done; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!done) {
    std::fprintf(stderr, "~runtime hangs while a %s handle is alive\n",
                 what.c_str());
    std::abort();
  }
  closer.join();
}

TEST(runtime_lifecycle, a_cache_handle_may_outlive_its_runtime) {
  auto dir = fresh_dir();
  for (std::string uri :
       {std::string("memory://?pool=2"), "sqlite://" + dir + "/c.db?pool=2",
        with_param(redis_uri(), "namespace=lifecycle" + unique_token())}) {
    auto rt = std::make_unique<runtime>();
    std::optional<cache_store> cache = rt->open_cache(uri);
    await(cache->set("k", "v"));
    auto pending = cache->get("k");
    destroy_within_30s(std::move(rt), uri);
    try {
      pending.get();  // answered before the close, or failed by it
    } catch (const store_error& e) {
      EXPECT_EQ(e.code(), errc::backend_unavailable) << e.what();
    }
    EXPECT_TRUE(fails_with(errc::backend_unavailable, [&] {
      await(cache->get("k"));
    })) << uri;
    cache.reset();  // after the runtime: nothing left to wait for
  }
}

TEST(runtime_lifecycle, a_vector_handle_may_outlive_its_runtime) {
  auto rt = std::make_unique<runtime>();
  auto uri = "faiss://" + fresh_dir() + "?pool=2";
  std::optional<vector_store> vs = rt->open_vector(uri);
  await(vs->create_collection({"col", 2, metric::l2}));
  await(vs->upsert("col", {{"x", {1, 0}, {}, std::nullopt}}));
  destroy_within_30s(std::move(rt), uri);
  EXPECT_TRUE(
      fails_with(errc::backend_unavailable, [&] { await(vs->count("col")); }));
  vs.reset();
  // The directory is free again: its store closed with the runtime.
  runtime again;
  EXPECT_EQ(await(again.open_vector(uri).count("col")), 1u);
}

}  // namespace
}  // namespace storage::test
