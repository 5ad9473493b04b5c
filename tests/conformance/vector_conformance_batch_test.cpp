// Vector store conformance, part 4: batch search. A batch answers each query
// exactly as search() answers it alone -- same ids, same order, same
// distances and fields -- and rejects what search() rejects, naming the
// query.
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "conformance/backends.hpp"

namespace storage::conformance {
namespace {

using hit_lists = std::vector<std::vector<search_hit>>;

class VectorBatch : public vector_fixture {
 protected:
  // `n` random records plus exact ties with the first two (under ids that
  // sort before and after theirs); metadata on most, documents on some.
  std::string populate(const std::string& base, metric m, std::uint32_t dim,
                       int n) {
    auto c = create(base, dim, m);
    std::mt19937 gen(7);
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<vector_record> all;
    for (int i = 0; i < n; ++i) {
      std::vector<float> e(dim);
      for (auto& x : e) x = nd(gen);
      metadata md{{"bucket", static_cast<std::int64_t>(i % 10)},
                  {"tag", std::string(i % 50 == 3 ? "rare" : "common")}};
      char id[16];
      std::snprintf(id, sizeof id, "r%04d", i);
      std::optional<std::string> doc;
      if (i % 3 == 0) doc = "doc " + std::to_string(i);
      all.push_back(rec(id, std::move(e), std::move(md), std::move(doc)));
    }
    all.push_back(rec("a-tie", all[0].embedding, all[0].metadata));
    all.push_back(rec("z-tie", all[0].embedding));
    all.push_back(rec("r0001-tie", all[1].embedding, all[1].metadata, "tie"));
    await(vs().upsert(c, all));
    // 16 random queries, two that hit the ties exactly, one far away, and
    // a repeat.
    queries_.clear();
    for (int i = 0; i < 16; ++i) {
      std::vector<float> q(dim);
      for (auto& x : q) x = nd(gen);
      queries_.push_back(std::move(q));
    }
    queries_.push_back(all[0].embedding);
    queries_.push_back(all[1].embedding);
    auto far = queries_[3];
    for (auto& x : far) x *= 10;
    queries_.push_back(std::move(far));
    queries_.push_back(queries_[5]);
    return c;
  }

  hit_lists one_by_one(const std::string& c, const batch_search_request& b) {
    hit_lists out;
    for (auto& q : b.queries) {
      search_request r;
      r.query = q;
      r.k = b.k;
      r.where = b.where;
      r.include = b.include;
      out.push_back(await(vs().search(c, r)));
    }
    return out;
  }

  static void expect_same(const hit_lists& batch, const hit_lists& single) {
    ASSERT_EQ(batch.size(), single.size());
    for (std::size_t q = 0; q < batch.size(); ++q) {
      SCOPED_TRACE("query " + std::to_string(q));
      ASSERT_EQ(batch[q].size(), single[q].size());
      for (std::size_t i = 0; i < batch[q].size(); ++i) {
        auto& b = batch[q][i];
        auto& s = single[q][i];
        ASSERT_EQ(b.id, s.id) << "hit " << i;
        EXPECT_NEAR(b.distance, s.distance, 1e-6) << b.id;
        EXPECT_EQ(b.metadata, s.metadata) << b.id;
        EXPECT_EQ(b.document, s.document) << b.id;
        ASSERT_EQ(b.embedding.size(), s.embedding.size()) << b.id;
        for (std::size_t d = 0; d < b.embedding.size(); ++d)
          EXPECT_NEAR(b.embedding[d], s.embedding[d], 1e-6) << b.id;
      }
    }
  }

  // The store_error the batch fails with (a test failure if it succeeds).
  store_error failure(const std::string& c, batch_search_request req) {
    try {
      await(vs().search_batch(c, std::move(req)));
    } catch (const store_error& e) {
      return e;
    }
    ADD_FAILURE() << "the batch did not fail";
    return store_error(errc::ok, "");
  }

  batch_search_request batch(std::uint32_t k) const {
    batch_search_request b;
    b.queries = queries_;
    b.k = k;
    return b;
  }

  std::vector<std::vector<float>> queries_;
};

struct batch_case {
  const char* what;
  std::uint32_t k;
  std::optional<filter> where;
  include_fields include;
};

TEST_P(VectorBatch, EqualsOneByOne) {
  const include_fields all_fields{true, true, true};
  const include_fields ids_only{false, false, false};
  std::vector<batch_case> cases{
      {"k=1", 1, std::nullopt, {}},
      {"k=7 with embeddings", 7, std::nullopt, all_fields},
      {"k=30", 30, std::nullopt, {}},
      {"10% filter", 7, filter::eq("bucket", std::int64_t{3}), {}},
      {"20% filter, ids only", 30,
       filter::in("bucket", {std::int64_t{2}, std::int64_t{5}}), ids_only},
      {"6 matches, k=7", 7, filter::eq("tag", std::string("rare")), {}},
      {"6 matches, k=30, embeddings", 30,
       filter::eq("tag", std::string("rare")), all_fields},
      {"nothing matches", 5, filter::eq("bucket", std::int64_t{99}), {}},
  };
  for (auto m : {metric::l2, metric::cosine}) {
    SCOPED_TRACE(to_string(m));
    auto c = populate(std::string("batch_") + to_string(m), m, 6, 300);
    ASSERT_EQ(queries_.size(), 20u);
    for (auto& bc : cases) {
      SCOPED_TRACE(bc.what);
      auto b = batch(bc.k);
      b.where = bc.where;
      b.include = bc.include;
      auto got = await(vs().search_batch(c, b));
      expect_same(got, one_by_one(c, b));
    }
    // A batch of one is a search.
    auto one = batch(4);
    one.queries.resize(1);
    expect_same(await(vs().search_batch(c, one)), one_by_one(c, one));
  }
}

TEST_P(VectorBatch, RejectsWhatSearchRejectsNamingTheQuery) {
  auto c = populate("batch_err", metric::l2, 3, 20);

  auto none = batch(5);
  none.queries.clear();
  EXPECT_EQ(failure(c, none).code(), errc::invalid_argument);

  auto zero_k = batch(0);
  EXPECT_EQ(failure(c, zero_k).code(), errc::invalid_argument);

  // Every query one value short: what search() says for one of them.
  auto short_queries = batch(5);
  for (auto& q : short_queries.queries) q.pop_back();
  search_request alone;
  alone.query = short_queries.queries[0];
  EXPECT_TRUE(fails_with(errc::dimension_mismatch,
                         [&] { await(vs().search(c, alone)); }));
  auto e = failure(c, short_queries);
  EXPECT_EQ(e.code(), errc::dimension_mismatch) << e.what();
  EXPECT_NE(e.message().find("query 0"), std::string::npos) << e.what();

  // One query of another length among good ones.
  auto mixed = batch(5);
  mixed.queries[2].push_back(1.0f);
  e = failure(c, mixed);
  EXPECT_EQ(e.code(), errc::dimension_mismatch) << e.what();
  EXPECT_NE(e.message().find("query 2"), std::string::npos) << e.what();

  auto nan = batch(5);
  nan.queries[1][0] = std::numeric_limits<float>::quiet_NaN();
  e = failure(c, nan);
  EXPECT_EQ(e.code(), errc::invalid_argument) << e.what();
  EXPECT_NE(e.message().find("query 1"), std::string::npos) << e.what();

  auto empty_query = batch(5);
  empty_query.queries[4].clear();
  e = failure(c, empty_query);
  EXPECT_EQ(e.code(), errc::invalid_argument) << e.what();
  EXPECT_NE(e.message().find("query 4"), std::string::npos) << e.what();

  auto too_many = batch(1);
  too_many.queries.assign(10001, queries_[0]);
  EXPECT_EQ(failure(c, too_many).code(), errc::invalid_argument);

  // The store is unharmed: a good batch still works.
  auto good = batch(3);
  expect_same(await(vs().search_batch(c, good)), one_by_one(c, good));
}

TEST_P(VectorBatch, MissingCollection) {
  auto c = collection("batch_missing");
  batch_search_request b;
  b.queries = {{1, 0, 0}, {0, 1, 0}};
  EXPECT_TRUE(fails_with(errc::collection_not_found,
                         [&] { await(vs().search_batch(c, b)); }));
}

INSTANTIATE_TEST_SUITE_P(Backends, VectorBatch,
                         ::testing::ValuesIn(vector_backends()), backend_name);

}  // namespace
}  // namespace storage::conformance
