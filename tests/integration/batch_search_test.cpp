// Batch search on a sharded store (faiss, pool=4), through the facade and
// through the typed actor handle, while the store migrates live, and on
// pgvector's index path: every path answers each query as a single search
// does. (The conformance suite checks the same on every backend through the
// facade, on collections small enough to be searched exactly.)
#include <gtest/gtest.h>

#include <random>

#include <caf/all.hpp>

#include "messages/caf_support.hpp"
#include "runtime/runtime.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

using hit_lists = std::vector<std::vector<search_hit>>;

constexpr std::uint32_t dim = 8;

std::vector<float> random_vector(std::mt19937& gen) {
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> v(dim);
  for (auto& x : v) x = nd(gen);
  return v;
}

// 500 records, spread over every shard, with metadata to filter on.
std::string fill(vector_store& vs, std::mt19937& gen) {
  auto c = "batch_" + unique_token();
  await(vs.create_collection({c, dim, metric::l2}));
  std::vector<vector_record> rs;
  for (int i = 0; i < 500; ++i)
    rs.push_back({"id" + std::to_string(i),
                  random_vector(gen),
                  {{"even", i % 2 == 0}},
                  std::nullopt});
  await(vs.upsert(c, rs));
  return c;
}

batch_search_request queries(std::mt19937& gen, std::size_t n,
                             std::uint32_t k) {
  batch_search_request b;
  for (std::size_t i = 0; i < n; ++i) b.queries.push_back(random_vector(gen));
  b.k = k;
  return b;
}

hit_lists one_by_one(vector_store& vs, const std::string& c,
                     const batch_search_request& b) {
  hit_lists out;
  for (auto& q : b.queries) {
    search_request r;
    r.query = q;
    r.k = b.k;
    r.where = b.where;
    r.include = b.include;
    out.push_back(await(vs.search(c, r)));
  }
  return out;
}

void expect_same(const hit_lists& got, const hit_lists& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t q = 0; q < got.size(); ++q) {
    ASSERT_EQ(got[q].size(), want[q].size()) << "query " << q;
    for (std::size_t i = 0; i < got[q].size(); ++i) {
      EXPECT_EQ(got[q][i].id, want[q][i].id) << "query " << q << " hit " << i;
      EXPECT_NEAR(got[q][i].distance, want[q][i].distance, 1e-5)
          << "query " << q;
    }
  }
}

hit_lists through_actor(runtime& rt, const vector_store& vs,
                        const std::string& c, const batch_search_request& b) {
  caf::scoped_actor self{rt.system()};
  hit_lists out;
  self->request(vs.actor(), std::chrono::seconds(30), vsearchb_atom::value, c,
                b)
      .receive([&](hit_lists& lists) { out = std::move(lists); },
               [&](caf::error& e) { ADD_FAILURE() << rt.system().render(e); });
  return out;
}

TEST(batch_search, sharded_pool_facade_and_actor_equal_one_by_one) {
  runtime rt;
  auto vs = rt.open_vector("faiss://" + fresh_dir() + "?pool=4");
  std::mt19937 gen(11);
  auto c = fill(vs, gen);
  for (std::uint32_t k : {1u, 10u, 64u}) {
    SCOPED_TRACE("k=" + std::to_string(k));
    auto b = queries(gen, 32, k);
    auto want = one_by_one(vs, c, b);
    expect_same(await(vs.search_batch(c, b)), want);
    expect_same(through_actor(rt, vs, c, b), want);
    b.where = filter::eq("even", true);
    b.include.embedding = true;
    want = one_by_one(vs, c, b);
    expect_same(await(vs.search_batch(c, b)), want);
    expect_same(through_actor(rt, vs, c, b), want);
  }
  // Errors come back through the actor handle as store errors.
  auto bad = queries(gen, 3, 5);
  bad.queries[1].pop_back();
  caf::scoped_actor self{rt.system()};
  self->request(vs.actor(), std::chrono::seconds(30), vsearchb_atom::value, c,
                bad)
      .receive([&](hit_lists&) { ADD_FAILURE() << "mixed lengths accepted"; },
               [&](caf::error& e) {
                 auto se = from_caf_error(e, "search", vs.name());
                 EXPECT_EQ(se.code(), errc::dimension_mismatch) << se.what();
                 EXPECT_NE(se.message().find("query 1"), std::string::npos)
                     << se.what();
               });
}

// While a store migrates live, batch searches go where single searches go
// (the router reads the source until cutover, the target after) and answer
// alike at every step.
TEST(batch_search, during_and_after_live_migration) {
  runtime rt;
  auto src = "faiss://" + fresh_dir() + "?pool=4";
  auto vs = rt.open_vector(src);
  std::mt19937 gen(23);
  auto c = fill(vs, gen);
  auto b = queries(gen, 16, 10);
  auto before = one_by_one(vs, c, b);
  live_options opts;
  opts.batch = 25;  // many backfill steps to search between
  auto m = rt.migrate_live(src, "faiss://" + fresh_dir() + "?pool=2", opts);
  auto running = [&] {
    auto s = m.state();
    return s != live_state::done && s != live_state::failed &&
           s != live_state::aborted;
  };
  do {
    expect_same(await(vs.search_batch(c, b)), before);
  } while (running());
  m.wait();
  // On the target now, which holds the same records.
  expect_same(await(vs.search_batch(c, b)), before);
  expect_same(one_by_one(vs, c, b), before);
}

// pgvector through its HNSW index (exact_below=0): the batch sends the index
// statements in one pipeline, redoes short answers (a rare filter) by full
// scans in a second, raises ef_search for a large k, and scans a zero cosine
// query exactly -- each as search() does for that query alone.
TEST(batch_search, pgvector_index_path_equals_one_by_one) {
  runtime rt;
  auto vs = rt.open_vector(with_param(pgvector_uri(), "exact_below=0"));
  auto c = "batch_pg_" + unique_token();
  await(vs.create_collection({c, dim, metric::cosine}));
  std::mt19937 gen(5);
  std::vector<vector_record> rs;
  for (int i = 0; i < 1000; ++i)
    rs.push_back({"id" + std::to_string(i),
                  random_vector(gen),
                  {{"even", i % 2 == 0}, {"rare", i % 400 == 9}},
                  std::nullopt});
  await(vs.upsert(c, rs));
  auto b = queries(gen, 23, 10);
  b.queries.push_back(std::vector<float>(dim, 0.f));
  struct step {
    std::uint32_t k;
    std::optional<filter> where;
    std::size_t hits;  // for every query: min(k, matches)
  };
  for (auto& s :
       {step{10, std::nullopt, 10}, step{10, filter::eq("rare", true), 3},
        step{10, filter::eq("even", true), 10}, step{300, std::nullopt, 300}}) {
    SCOPED_TRACE("k=" + std::to_string(s.k));
    b.k = s.k;
    b.where = s.where;
    auto got = await(vs.search_batch(c, b));
    expect_same(got, one_by_one(vs, c, b));
    for (auto& hits : got) EXPECT_EQ(hits.size(), s.hits);
  }
  await(vs.drop_collection(c));
}

}  // namespace
}  // namespace storage::test
