// One round of the cache live-migration test: 8 callers set, add, incr,
// expire, mset, delete, clear and read overlapping keys of a sqlite:// cache
// while it migrates to Redis; afterwards Redis must hold exactly what the
// acknowledged writes say, and no caller may have seen an error.
#pragma once

#include "live_support.hpp"
#include "vector_round.hpp"

namespace storage::test {

inline void cache_round(unsigned seed, round_size size = {}) {
  std::mt19937 rng(seed);
  runtime rt;
  // One connection: two racing to create a fresh SQLite file's schema can
  // fail with "database is locked" (an adapter limit, not the migration's).
  auto src = "sqlite://" + fresh_dir() + "/live.db";
  auto tgt =
      with_param(redis_uri(), "namespace=live" + unique_token() +
                                  "&pool=" + std::to_string(1 + seed % 3));
  auto cs = rt.open_cache(src);
  auto key_of = [](int i) { return "k" + std::to_string(i); };
  // Long enough never to expire during a round: TTLs travel, values stay.
  const std::int64_t long_ttl = 600000;

  history h;
  {
    std::vector<cache_entry> es;
    for (int i = 0; i < size.ids; ++i)
      es.push_back({key_of(i), std::to_string(1000 + i),
                    i % 3 ? ttl_ms{} : ttl_ms{long_ttl}});
    auto start = h.tick();
    await(cs.mset(es));
    auto ack = h.tick();
    for (auto& e : es) h.add(e.key, start, ack, e.value);
  }

  std::atomic<bool> stop{false};
  std::atomic<int> errors{0}, ops{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < size.callers; ++c)
    callers.emplace_back([&, c] {
      std::mt19937 r(seed * 131 + c);
      for (int seq = 0; !stop; ++seq) {
        auto key = key_of(static_cast<int>(r() % size.ids));
        // Integers only, so incr never meets a non-integer value.
        auto val = std::to_string(c * 1000000 + seq);
        auto op = r() % 10;
        try {
          auto start = h.tick();
          if (op < 3) {
            await(cs.set(key, val, op == 0 ? ttl_ms{long_ttl} : ttl_ms{}));
            h.add(key, start, h.tick(), val);
          } else if (op == 3) {
            await(cs.del({key}));
            h.add(key, start, h.tick(), std::nullopt);
          } else if (op == 4) {
            auto n = await(cs.incr(key, 1 + r() % 5));
            h.add(key, start, h.tick(), std::to_string(n));
          } else if (op == 5) {
            if (await(cs.add(key, val))) h.add(key, start, h.tick(), val);
          } else if (op == 6) {
            auto other = key_of(static_cast<int>(r() % size.ids));
            std::vector<cache_entry> es{{key, val, {}}};
            if (other != key)
              es.push_back(
                  {other, std::to_string(c * 1000000 + seq + 500000), {}});
            await(cs.mset(es));
            auto ack = h.tick();
            for (auto& e : es) h.add(e.key, start, ack, e.value);
          } else if (op == 7) {
            // Now and then a clear (a whole-store operation): every key is
            // deleted somewhere between its start and its acknowledgement.
            if (c == 0 && r() % 64 == 0) {
              await(cs.clear());
              auto ack = h.tick();
              for (int i = 0; i < size.ids; ++i)
                h.add(key_of(i), start, ack, std::nullopt);
            } else {
              await(cs.expire(key, long_ttl));
            }
          } else {
            await(cs.mget({key, key_of(static_cast<int>(r() % size.ids))}));
          }
          ++ops;
        } catch (const std::exception& e) {
          ADD_FAILURE() << "caller " << c << ": " << e.what();
          ++errors;
        }
      }
    });

  std::this_thread::sleep_for(size.before * (rng() % 100) / 100);
  auto m = rt.migrate_live(src, tgt);
  auto state = settle(m);
  std::this_thread::sleep_for(size.after * (rng() % 100) / 100);
  if (size.abort_after_cutover && state == live_state::done) {
    EXPECT_TRUE(m.progress().mirroring_back);
    m.abort();
    EXPECT_EQ(m.state(), live_state::aborted);
    std::this_thread::sleep_for(size.after * (rng() % 100) / 100);
  }
  stop = true;
  for (auto& t : callers) t.join();

  EXPECT_EQ(errors, 0);
  ASSERT_EQ(state, live_state::done) << outcome(m);
  EXPECT_TRUE(m.wait().verified);
  if (size.abort_after_cutover) {
    // The handle reads the source again, which must hold every write,
    // including those the target answered; and writes no longer reach it.
    check_against(h, scan_all(cs));
    await(cs.set("after-abort", "1"));
    runtime direct;
    auto redis = direct.open_cache(tgt);
    EXPECT_FALSE(await(redis.exists("after-abort")));
    await(redis.clear());
    return;
  }

  // The handle now reads Redis; a second runtime reading the namespace
  // straight from Redis must see the same keys and values.
  auto via_handle = scan_all(cs);
  runtime direct;
  auto redis = direct.open_cache(tgt);
  auto in_redis = scan_all(redis);
  EXPECT_EQ(via_handle, in_redis);
  check_against(h, in_redis);
  EXPECT_GT(ops, 0);

  m.finalize();
  await(cs.clear());
}

}  // namespace storage::test
