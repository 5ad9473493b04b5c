// Keyed batches and counts over in-process shards, split by the dispatcher
// on the caller's thread (actors/pool/shard_scatter.hpp): every shard gets
// its ids, a read answers in the order asked, a batch that breaks the
// contract writes nothing on any shard. And a faiss:// shard's upserts
// that queue up run as one (actors/pool/upsert_group.hpp), each answered
// on its own, a bad one failing alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <memory>
#include <random>

#include <caf/all.hpp>

#include "runtime/runtime.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t batch_dims = 4;

vector_record batch_record(const std::string& id, float x,
                           std::uint32_t dims = batch_dims) {
  vector_record r;
  r.id = id;
  r.embedding.assign(dims, x);
  return r;
}

std::vector<vector_record> batch_of(int n, const std::string& prefix) {
  std::vector<vector_record> out;
  for (int i = 0; i < n; ++i)
    out.push_back(batch_record(prefix + std::to_string(i), float(i)));
  return out;
}

TEST(shard_batch, a_batch_reaches_every_shard_and_reads_back_in_order) {
  runtime rt;
  auto vs = rt.open_vector("faiss://" + fresh_dir() + "/v?pool=4");
  await(vs.create_collection({"col", batch_dims, metric::l2}));
  EXPECT_EQ(await(vs.upsert("col", batch_of(40, "r"))), 40u);
  EXPECT_EQ(await(vs.count("col")), 40u);
  // Asked out of order, with ids that do not exist among them.
  ids asked = {"r7", "nope", "r31", "r0", "r19", "gone", "r3"};
  auto got = await(vs.get("col", asked));
  std::vector<std::string> order;
  for (auto& r : got) order.push_back(r.id);
  EXPECT_EQ(order, (std::vector<std::string>{"r7", "r31", "r0", "r19", "r3"}));
  EXPECT_EQ(got[1].embedding, std::vector<float>(batch_dims, 31.0f));
  ids doomed;
  for (int i = 0; i < 15; ++i) doomed.push_back("r" + std::to_string(i));
  doomed.push_back("nope");
  EXPECT_EQ(await(vs.remove("col", doomed)), 15u);
  EXPECT_EQ(await(vs.count("col")), 25u);
  EXPECT_EQ(await(vs.get("col", {"r0", "r14", "r15"})).size(), 1u);
}

TEST(shard_batch, a_batch_that_breaks_the_contract_writes_on_no_shard) {
  runtime rt;
  auto vs = rt.open_vector("faiss://" + fresh_dir() + "/v?pool=4");
  await(vs.create_collection({"col", batch_dims, metric::l2}));
  auto dup = batch_of(20, "d");
  dup.push_back(batch_record("d3", 1));
  EXPECT_TRUE(fails_with(errc::invalid_argument,
                         [&] { await(vs.upsert("col", dup)); }));
  std::vector<vector_record> wide;
  for (int i = 0; i < 20; ++i)
    wide.push_back(batch_record("w" + std::to_string(i), 1, batch_dims + 1));
  EXPECT_TRUE(fails_with(errc::dimension_mismatch,
                         [&] { await(vs.upsert("col", wide)); }));
  EXPECT_TRUE(fails_with(errc::invalid_argument, [&] {
    await(vs.remove("col", {"a", "b", ""}));
  }));
  EXPECT_EQ(await(vs.count("col")), 0u);

  auto cache = rt.open_cache("memory://?pool=4");
  std::vector<cache_entry> es;
  for (int i = 0; i < 20; ++i) es.push_back({"k" + std::to_string(i), "v", {}});
  es.push_back({"", "bad key", {}});
  EXPECT_TRUE(
      fails_with(errc::invalid_argument, [&] { await(cache.mset(es)); }));
  ids keys;
  for (int i = 0; i < 20; ++i) keys.push_back("k" + std::to_string(i));
  for (auto& v : await(cache.mget(keys))) EXPECT_FALSE(v.has_value());
}

TEST(shard_batch, mget_answers_every_key_in_its_place) {
  runtime rt;
  auto cache = rt.open_cache("memory://?pool=4");
  std::vector<cache_entry> es;
  for (int i = 0; i < 20; ++i)
    es.push_back({"k" + std::to_string(i), "v" + std::to_string(i), {}});
  await(cache.mset(es));
  ids keys;
  for (int i = 0; i < 30; ++i) keys.push_back("k" + std::to_string(i));
  std::shuffle(keys.begin(), keys.end(), std::mt19937(5));
  auto got = await(cache.mget(keys));
  ASSERT_EQ(got.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto n = std::stoi(keys[i].substr(1));
    if (n < 20)
      EXPECT_EQ(got[i], "v" + std::to_string(n)) << keys[i];
    else
      EXPECT_FALSE(got[i].has_value()) << keys[i];
  }
  EXPECT_EQ(await(cache.del(keys)), 20u);
  EXPECT_EQ(await(cache.del(keys)), 0u);
}

// max_entries bounds the whole sharded store, not each shard: 50 over four
// shards once held 52.
TEST(shard_batch, max_entries_bounds_the_whole_store) {
  runtime rt;
  auto cache = rt.open_cache("memory://?max_entries=50&pool=4");
  for (int i = 0; i < 500; ++i)
    await(cache.set("key" + std::to_string(i), "v"));
  std::size_t live = 0;
  std::string cursor;
  do {
    auto page = await(cache.scan(cursor, 100));
    live += page.entries.size();
    cursor = page.next_cursor;
  } while (!cursor.empty());
  EXPECT_EQ(live, 50u);
  EXPECT_TRUE(fails_with(errc::invalid_argument, [&] {
    rt.open_cache("memory://?max_entries=3&pool=4");
  }));
}

// An actor's un-awaited upserts to one faiss:// shard: the worker runs
// those that queued as one, yet each gets its own count, the one with a
// wrong dimension fails alone, and ten writes of one id leave the last.
TEST(upsert_group, queued_upserts_run_as_one_and_each_gets_its_answer) {
  runtime rt;
  auto uri = "faiss://" + fresh_dir() + "/v";
  auto vs = rt.open_vector(uri);
  await(vs.create_collection({"col", batch_dims, metric::l2}));
  constexpr int sends = 60;
  struct outcome {
    std::vector<std::uint64_t> counts = std::vector<std::uint64_t>(sends);
    std::vector<std::string> errors = std::vector<std::string>(sends);
    int pending = sends;
  };
  auto done = std::make_shared<std::promise<outcome>>();
  auto result = done->get_future();
  auto h = vs.actor();
  rt.system().spawn(
      [=](caf::event_based_actor* self, int) -> caf::behavior {
        auto out = std::make_shared<outcome>();
        auto one_done = [=] {
          if (--out->pending == 0) {
            done->set_value(*out);
            self->quit();
          }
        };
        std::string c = "col";
        for (int i = 0; i < sends; ++i) {
          records rs;
          if (i == 25)  // the bad one, amid the others
            rs.push_back(batch_record("bad", 1, batch_dims + 1));
          else if (i % 6 == 0)  // the same id again and again
            rs.push_back(batch_record("same", float(i)));
          else
            rs = batch_of(5, "u" + std::to_string(i) + "-");
          self->request(h, 30s, vupsert_atom::value, c, std::move(rs))
              .then(
                  [=](std::uint64_t n) {
                    out->counts[i] = n;
                    one_done();
                  },
                  [=](caf::error& e) {
                    out->errors[i] = caf::to_string(e);
                    one_done();
                  });
        }
        return {[](caf::unit_t) {}};
      },
      0);
  ASSERT_EQ(result.wait_for(60s), std::future_status::ready);
  auto out = result.get();
  std::uint64_t expected = 0;
  for (int i = 0; i < sends; ++i) {
    if (i == 25) {
      EXPECT_NE(out.errors[i].find("dimension"), std::string::npos)
          << out.errors[i];
      continue;
    }
    EXPECT_EQ(out.errors[i], "") << i;
    EXPECT_EQ(out.counts[i], i % 6 == 0 ? 1u : 5u) << i;
    if (i % 6 != 0) expected += 5;
  }
  EXPECT_EQ(await(vs.count("col")), expected + 1);
  auto same = await(vs.get("col", {"same"}));
  ASSERT_EQ(same.size(), 1u);
  EXPECT_EQ(same[0].embedding, std::vector<float>(batch_dims, 54.0f));
  EXPECT_TRUE(await(vs.get("col", {"bad"})).empty());
  auto s = rt.stats(uri);
  EXPECT_GT(s.batches, 0u) << "no upserts ran as one";
  EXPECT_GT(s.max_batch_depth, 1u);
}

}  // namespace
}  // namespace storage::test
