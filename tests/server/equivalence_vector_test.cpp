// The same records and the same queries on every vector backend give the
// same answer as an exact brute force computed here with storage::distance
// and filter::matches: the same ids in the same order (ties by id), the same
// distances (1e-4 relative), the stored metadata and documents.
//
// Coordinates are multiples of 1/64, so l2 and ip distances are exact in
// float as in double, and some records share one embedding: ties are real
// ties, and the contract orders them by id.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "messages/distance.hpp"
#include "runtime/runtime.hpp"
#include "server_support.hpp"

namespace storage::srv {
namespace {

constexpr std::uint32_t dim = 16;
constexpr int n_records = 300;

std::vector<float> random_vector(rng& r) {
  std::vector<float> v(dim);
  bool nonzero = false;
  for (auto& x : v) {
    x = static_cast<float>(static_cast<int>(r.below(129)) - 64) / 64.0f;
    nonzero = nonzero || x != 0.0f;
  }
  if (!nonzero) v[0] = 1.0f;
  return v;
}

// Deterministic records: ints, doubles, strings and bools, some missing;
// every 10th record repeats an earlier record's embedding.
std::vector<vector_record> make_records() {
  rng r(20240611);
  std::vector<vector_record> out;
  const char* cats[] = {"a", "b", "c", "d"};
  for (int i = 0; i < n_records; ++i) {
    vector_record rec;
    // Ids whose byte order differs from their creation order.
    rec.id = "r" + std::to_string((i * 7919) % 1000) + "-" + std::to_string(i);
    rec.embedding = random_vector(r);
    if (i % 10 == 9) rec.embedding = out[r.below(out.size())].embedding;
    if (i % 7 != 3) rec.metadata["cat"] = std::string(cats[r.below(4)]);
    if (i % 11 != 5) rec.metadata["n"] = std::int64_t(i % 50);
    rec.metadata["x"] = static_cast<double>(r.below(1000)) / 1000.0;
    if (i % 3 == 0)
      rec.metadata["v"] = std::int64_t(i % 4);
    else
      rec.metadata["v"] = static_cast<double>(i % 4) + 0.5;
    if (i % 13 != 0) rec.metadata["flag"] = (i % 2 == 0);
    if (i % 5 == 0)
      rec.metadata["tag"] =
          std::string("gr\xc3\xbc\xc3\x9f " + std::to_string(i % 3));
    if (i % 4 != 1) rec.document = "doc " + std::to_string(i);
    out.push_back(std::move(rec));
  }
  return out;
}

const std::vector<std::string>& filters() {
  static const std::vector<std::string> fs = {
      "",
      R"({"cat": "a"})",
      R"({"n": {"$gt": 20}})",
      R"({"n": {"$lte": 10}})",
      R"({"x": {"$gte": 0.5}})",
      R"({"flag": true})",
      R"({"cat": {"$ne": "b"}})",
      R"({"cat": {"$in": ["a", "c"]}})",
      R"({"n": {"$nin": [1, 2, 3, 4, 5]}})",
      R"({"$and": [{"flag": false}, {"x": {"$lt": 0.3}}]})",
      R"({"$or": [{"cat": "d"}, {"n": {"$gte": 45}}]})",
      R"({"v": {"$gt": 1.5}})",
      R"({"n": {"$eq": 7.0}})",
      R"({"n": 3})",
      R"({"tag": "gr\u00fc\u00df 1"})",
      R"({"cat": "zzz"})",
  };
  return fs;
}

struct expected_hit {
  std::string id;
  double distance;
};

std::vector<expected_hit> brute_force(const std::vector<vector_record>& recs,
                                      metric m, const search_request& req) {
  std::vector<expected_hit> all;
  for (auto& r : recs)
    if (!req.where || req.where->matches(r.metadata))
      all.push_back({r.id, distance(m, req.query, r.embedding)});
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return closer(a.distance, a.id, b.distance, b.id);
  });
  if (all.size() > req.k) all.resize(req.k);
  return all;
}

struct backend {
  std::string name;
  std::function<std::string(const std::string& dir)> uri;
};

class VectorEquivalence : public ::testing::TestWithParam<backend> {};

TEST_P(VectorEquivalence, SameAnswersAsBruteForce) {
  auto dir = test::fresh_dir();
  auto records = make_records();
  std::map<std::string, const vector_record*> by_id;
  for (auto& r : records) by_id[r.id] = &r;
  runtime rt;
  auto vs = rt.open_vector(GetParam().uri(dir));
  std::vector<std::string> created;
  struct cleanup {
    vector_store& vs;
    std::vector<std::string>& names;
    std::string dir;
    ~cleanup() {
      for (auto& n : names) try {
          test::await(vs.drop_collection(n));
        } catch (const std::exception&) {
          // Best effort: the test already reported any failure.
        }
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } clean{vs, created, dir};

  rng qr(77);
  int compared = 0, with_ties = 0;
  for (metric m : {metric::l2, metric::cosine, metric::ip}) {
    auto coll =
        std::string("equiv_") + to_string(m) + "_" + test::unique_token();
    created.push_back(coll);
    ASSERT_TRUE(test::await(vs.create_collection({coll, dim, m})));
    for (std::size_t at = 0; at < records.size(); at += 100) {
      std::vector<vector_record> batch(records.begin() + at,
                                       records.begin() + at + 100);
      ASSERT_EQ(test::await(vs.upsert(coll, batch)), 100u);
    }
    ASSERT_EQ(test::await(vs.count(coll)), std::uint64_t(n_records));

    const std::uint32_t ks[] = {1, 5, 10, 25};
    int qi = 0;
    for (auto& f : filters()) {
      for (int variant = 0; variant < 2; ++variant, ++qi) {
        search_request req;
        // Half the queries sit on an embedding two records share.
        req.query = variant == 0 ? random_vector(qr)
                                 : records[9 + 10 * (qi % 30)].embedding;
        req.k = ks[qi % 4];
        if (!f.empty()) req.where = filter::parse(f);
        auto want = brute_force(records, m, req);
        auto got = test::await(vs.search(coll, req));
        SCOPED_TRACE(std::string(to_string(m)) + " k=" + std::to_string(req.k) +
                     " where " + f);
        std::vector<std::string> want_ids, got_ids;
        for (auto& h : want) want_ids.push_back(h.id);
        for (auto& h : got) got_ids.push_back(h.id);
        EXPECT_EQ(got_ids, want_ids);
        for (std::size_t i = 0; i + 1 < want.size(); ++i)
          if (want[i].distance == want[i + 1].distance) ++with_ties;
        for (std::size_t i = 0; i < got.size() && i < want.size(); ++i) {
          double tol = std::max(1e-4 * std::abs(want[i].distance), 1e-6);
          EXPECT_NEAR(got[i].distance, want[i].distance, tol) << got[i].id;
          auto it = by_id.find(got[i].id);
          if (it == by_id.end()) continue;
          EXPECT_EQ(got[i].metadata, it->second->metadata) << got[i].id;
          EXPECT_EQ(got[i].document, it->second->document) << got[i].id;
        }
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 3 * 2 * static_cast<int>(filters().size()));
  // The data really has ties, so their order was checked.
  EXPECT_GT(with_ties, 20);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, VectorEquivalence,
    ::testing::Values(
        backend{"faiss_flat",
                [](const std::string& d) { return "faiss://" + d; }},
        backend{"faiss_hnsw",
                [](const std::string& d) {
                  return "faiss://" + d + "?index=hnsw";
                }},
        backend{"pgvector",
                [](const std::string&) { return test::pgvector_uri(); }},
        backend{"pgvector_hnsw",
                [](const std::string&) {
                  // exact_below=0: every search goes through the HNSW index.
                  return test::with_param(test::pgvector_uri(),
                                          "exact_below=0");
                }},
        backend{"chroma",
                [](const std::string&) { return test::chroma_uri(); }}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace storage::srv
