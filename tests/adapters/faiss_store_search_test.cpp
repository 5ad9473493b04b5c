// faiss:// search: exact distances per metric, tie order, filtered top-k,
// and batches that equal their queries one by one — for both index kinds.
#include "adapters/faiss/faiss_store.hpp"

#include <gtest/gtest.h>

#include "adapters/faiss_store_fixture.hpp"

namespace storage {
namespace {

using namespace faiss_testing;

TEST_P(faiss_store_test, exact_distances_per_metric) {
  auto s = open();
  struct expectation {
    metric m;
    double base, opposite, orthogonal;
  };
  for (auto e :
       {expectation{metric::l2, 0, 4, 2}, expectation{metric::cosine, 0, 2, 1},
        expectation{metric::ip, 0, 2, 1}}) {
    std::string name = std::string("m_") + to_string(e.m);
    s->create_collection({name, 2, e.m});
    s->upsert(name, {rec("base", {1, 0}), rec("opposite", {-1, 0}),
                     rec("orthogonal", {0, 1})});
    search_request req;
    req.query = {1, 0};
    auto hits = s->search(name, req);
    ASSERT_EQ(hits.size(), 3u) << name;
    EXPECT_EQ(hits[0].id, "base") << name;
    EXPECT_EQ(hits[0].distance, e.base) << name;
    EXPECT_EQ(hits[1].id, "orthogonal") << name;
    EXPECT_EQ(hits[1].distance, e.orthogonal) << name;
    EXPECT_EQ(hits[2].id, "opposite") << name;
    EXPECT_EQ(hits[2].distance, e.opposite) << name;
  }
}

TEST_P(faiss_store_test, distances_match_the_contract) {
  auto s = open("&exact_below=0");
  std::mt19937 rng(7);
  for (auto m : {metric::l2, metric::cosine, metric::ip}) {
    std::string name = std::string("m_") + to_string(m);
    s->create_collection({name, 16, m});
    std::vector<vector_record> records;
    for (int i = 0; i < 500; ++i)
      records.push_back(rec("r" + std::to_string(i), random_vector(rng, 16)));
    s->upsert(name, records);
    search_request req;
    req.query = random_vector(rng, 16);
    req.k = 10;
    auto hits = s->search(name, req);
    auto want = reference(records, m, req.query, 10, nullptr);
    ASSERT_EQ(hits.size(), 10u);
    for (auto& h : hits) {
      for (auto& r : records) {
        if (r.id != h.id) continue;
        // Cosine runs on the stored unit vector, rounded to float: within
        // float precision of the contract's double, not bit for bit.
        if (m == metric::cosine)
          EXPECT_NEAR(h.distance, distance(m, req.query, r.embedding), 1e-6);
        else
          EXPECT_EQ(h.distance, distance(m, req.query, r.embedding));
      }
    }
    if (GetParam() == "flat") {
      for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(hits[i].id, want[i].second) << to_string(m);
      }
    }
  }
}

TEST_P(faiss_store_test, ties_order_by_id) {
  // Enough tied records that the index returns an arbitrary subset of them
  // first; the adapter must widen until the tie is settled by id.
  std::vector<vector_record> batch;
  std::mt19937 rng(5);
  for (int i = 0; i < 300; ++i)
    batch.push_back(rec("t" + std::to_string(1000 - i), {1, 1}));
  for (int i = 0; i < 500; ++i) {
    auto v = random_vector(rng, 2);
    batch.push_back(rec("far" + std::to_string(i), {v[0] + 5, v[1] + 5}));
  }
  batch.push_back(rec("a", {1, 1}));
  for (auto extra : {"", "&exact_below=0"}) {
    auto s = open(extra);
    s->drop_collection("ties");
    s->create_collection({"ties", 2, metric::l2});
    search_request req;
    req.query = {1, 1};
    req.k = 3;
    // Searching first loads the collection, so the index then holds the
    // batch in insertion order rather than in id order.
    EXPECT_TRUE(s->search("ties", req).empty());
    s->upsert("ties", batch);
    auto hits = s->search("ties", req);
    ASSERT_EQ(hits.size(), 3u) << extra;
    EXPECT_EQ(hits[0].id, "a") << extra;
    EXPECT_EQ(hits[1].id, "t1000") << extra;
    EXPECT_EQ(hits[2].id, "t701") << extra;
    EXPECT_EQ(hits[2].distance, 0.0) << extra;
  }
}

TEST_P(faiss_store_test, filtered_search_returns_min_k_matching) {
  std::mt19937 rng(42);
  std::vector<vector_record> records;
  for (int i = 0; i < 3000; ++i)
    records.push_back(rec("id" + std::to_string(i), random_vector(rng, 32),
                          {{"bucket", std::int64_t{i % 100}}}));
  for (auto extra : {"", "&exact_below=0"}) {
    auto s = open(extra);
    s->drop_collection("fil");
    s->create_collection({"fil", 32, metric::cosine});
    for (std::size_t i = 0; i < records.size(); i += 500)
      s->upsert("fil", std::vector<vector_record>(records.begin() + i,
                                                  records.begin() + i + 500));
    auto where = filter::eq("bucket", std::int64_t{7});  // 1%: 30 records
    for (std::uint32_t k : {10u, 30u, 50u}) {
      search_request req;
      req.query = random_vector(rng, 32);
      req.k = k;
      req.where = where;
      auto hits = s->search("fil", req);
      auto want = reference(records, metric::cosine, req.query, k, &where);
      ASSERT_EQ(hits.size(), std::min<std::size_t>(k, 30)) << extra;
      for (std::size_t i = 0; i < hits.size(); ++i) {
        EXPECT_EQ(hits[i].id, want[i].second) << extra;
        // Cosine: float precision of the stored unit vectors.
        EXPECT_NEAR(hits[i].distance, want[i].first, 1e-6) << extra;
      }
    }
    // A broad filter goes through the index with a selector when allowed.
    auto broad = filter::ne("bucket", std::int64_t{7});
    search_request req;
    req.query = random_vector(rng, 32);
    req.k = 20;
    req.where = broad;
    auto hits = s->search("fil", req);
    auto want = reference(records, metric::cosine, req.query, 20, &broad);
    ASSERT_EQ(hits.size(), 20u) << extra;
    std::size_t found = 0;
    for (auto& h : hits) {
      EXPECT_NE(h.metadata.at("bucket"), metadata_value(std::int64_t{7}));
      for (auto& w : want) found += w.second == h.id;
    }
    if (GetParam() == "flat") {
      EXPECT_EQ(found, 20u) << extra;
    } else {
      EXPECT_GE(found, 18u) << extra;
    }
  }
}

TEST_P(faiss_store_test, batch_search_equals_one_by_one) {
  // 64 queries take FAISS's BLAS path on flat, whose float l2 is least
  // exact for long vectors: the rescoring must still give the same answers.
  std::mt19937 rng(11);
  auto s = open("&exact_below=0");
  for (auto m : {metric::l2, metric::cosine, metric::ip}) {
    std::string name = std::string("b_") + to_string(m);
    s->create_collection({name, 24, m});
    std::vector<vector_record> records;
    for (int i = 0; i < 3000; ++i) {
      auto v = random_vector(rng, 24);
      if (i % 3 == 0)
        for (auto& x : v) x *= 100;
      records.push_back(
          rec("r" + std::to_string(i), v, {{"b", std::int64_t{i % 4}}}));
    }
    s->upsert(name, records);
    s->remove(name, {"r1", "r2", "r3"});
    for (auto where :
         {std::optional<filter>(),
          std::optional<filter>(filter::ne("b", std::int64_t{0})),
          std::optional<filter>(filter::eq("b", std::int64_t{1}))}) {
      batch_search_request batch;
      batch.k = 7;
      batch.where = where;
      for (int q = 0; q < 64; ++q)
        batch.queries.push_back(random_vector(rng, 24));
      batch.queries.push_back(records[10].embedding);  // an exact match
      auto got = s->search_batch(name, batch);
      ASSERT_EQ(got.size(), batch.queries.size());
      for (std::size_t q = 0; q < batch.queries.size(); ++q) {
        search_request one;
        one.query = batch.queries[q];
        one.k = batch.k;
        one.where = where;
        auto want = s->search(name, one);
        ASSERT_EQ(got[q].size(), want.size()) << to_string(m) << " query " << q;
        for (std::size_t j = 0; j < want.size(); ++j) {
          EXPECT_EQ(got[q][j].id, want[j].id) << to_string(m) << " query " << q;
          EXPECT_EQ(got[q][j].distance, want[j].distance);
          EXPECT_EQ(got[q][j].metadata, want[j].metadata);
        }
      }
    }
  }
  batch_search_request bad;
  bad.queries = {{1, 2}};
  EXPECT_EQ(code_of([&] { s->search_batch("b_l2", bad); }),
            errc::dimension_mismatch);
  bad.queries.clear();
  EXPECT_EQ(code_of([&] { s->search_batch("b_l2", bad); }),
            errc::invalid_argument);
}

// Records so close together that float cannot rank them: every fetch is
// inconclusive, and the search ends in an exact scan (for HNSW long before
// its fetch reaches the whole collection), with the contract's answer.
TEST_P(faiss_store_test, clustered_records_are_ranked_exactly) {
  std::mt19937 rng(5);
  auto s = open("&exact_below=0");
  s->create_collection({"near", 16, metric::l2});
  auto base = random_vector(rng, 16);
  std::vector<vector_record> records;
  for (int i = 0; i < 4000; ++i) {
    auto v = base;
    for (auto& x : v) x += 1e-4f * random_vector(rng, 1)[0];
    records.push_back(rec("r" + std::to_string(i), v));
  }
  s->upsert("near", records);
  batch_search_request batch;
  batch.k = 3;
  for (int q = 0; q < 12; ++q)
    batch.queries.push_back(
        records[static_cast<std::size_t>(q * 300)].embedding);
  auto got = s->search_batch("near", batch);
  ASSERT_EQ(got.size(), batch.queries.size());
  for (std::size_t q = 0; q < got.size(); ++q) {
    auto want = reference(records, metric::l2, batch.queries[q], 3, nullptr);
    ASSERT_EQ(got[q].size(), want.size()) << q;
    for (std::size_t j = 0; j < want.size(); ++j) {
      EXPECT_EQ(got[q][j].id, want[j].second) << q;
      EXPECT_EQ(got[q][j].distance, want[j].first) << q;
    }
  }
}

// A batch's queries run one after another: past the request's deadline the
// rest are not run, and the answer is timeout, not a late full answer.
TEST_P(faiss_store_test, a_batch_past_its_deadline_times_out) {
  std::mt19937 rng(9);
  auto s = open("&exact_below=100000");  // every query an exact scan
  s->create_collection({"many", 24, metric::l2});
  std::vector<vector_record> records;
  for (int i = 0; i < 3000; ++i)
    records.push_back(rec("r" + std::to_string(i), random_vector(rng, 24)));
  s->upsert("many", records);
  batch_search_request batch;
  batch.k = 5;
  for (int q = 0; q < 2000; ++q)
    batch.queries.push_back(random_vector(rng, 24));
  s->set_deadline(std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(1));
  EXPECT_EQ(code_of([&] { s->search_batch("many", batch); }), errc::timeout);
  s->set_deadline(std::chrono::steady_clock::time_point::max());
  EXPECT_EQ(s->search_batch("many", batch).size(), batch.queries.size());
}

INSTANTIATE_TEST_SUITE_P(index, faiss_store_test,
                         ::testing::Values("flat", "hnsw"));

}  // namespace
}  // namespace storage
