// Direct tests of the chroma:// adapter against the real Chroma server
// (scripts/services.sh); a server that is down fails these tests.
#include "adapters/chroma/chroma_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <set>

#include "adapters/factories.hpp"
#include "messages/distance.hpp"
#include "support/servers.hpp"

namespace storage {
namespace {

vector_record rec(std::string id, std::vector<float> v, metadata m = {},
                  std::optional<std::string> doc = std::nullopt) {
  return vector_record{std::move(id), std::move(v), std::move(m),
                       std::move(doc)};
}

errc code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const store_error& e) {
    return e.code();
  }
  return errc::ok;
}

std::vector<std::string> ids_of(const std::vector<search_hit>& hits) {
  std::vector<std::string> out;
  for (auto& h : hits) out.push_back(h.id);
  return out;
}

class ChromaStore : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = make_chroma_store(store_uri::parse(test::chroma_uri()), 0, 1);
    auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    name_ = std::string("ct-") + info->name() + "-" + std::to_string(getpid());
  }
  void TearDown() override {
    for (auto& c : created_) store_->drop_collection(c);
  }
  // A fresh collection; dropped when the test ends.
  std::string make(std::uint32_t dim, metric m,
                   const std::string& suffix = "") {
    std::string name = name_ + suffix;
    store_->drop_collection(name);
    EXPECT_TRUE(store_->create_collection({name, dim, m}));
    created_.push_back(name);
    return name;
  }
  std::vector<std::string> search_ids(const std::string& c,
                                      std::vector<float> q, std::uint32_t k,
                                      std::optional<filter> where = {}) {
    search_request req;
    req.query = std::move(q);
    req.k = k;
    req.where = std::move(where);
    return ids_of(store_->search(c, req));
  }

  std::unique_ptr<vector_backend> store_;
  std::string name_;
  std::vector<std::string> created_;
};

TEST_F(ChromaStore, CollectionLifecycle) {
  auto c = make(3, metric::cosine);
  EXPECT_FALSE(store_->create_collection({c, 3, metric::cosine}));
  EXPECT_EQ(code_of([&] {
              store_->create_collection({c, 4, metric::cosine});
            }),
            errc::conflict);
  EXPECT_EQ(code_of([&] {
              store_->create_collection({c, 3, metric::l2});
            }),
            errc::conflict);
  auto list = store_->list_collections();
  collection_spec want{c, 3, metric::cosine};
  EXPECT_NE(std::find(list.begin(), list.end(), want), list.end());
  EXPECT_TRUE(store_->drop_collection(c));
  EXPECT_FALSE(store_->drop_collection(c));
  EXPECT_EQ(code_of([&] { store_->count(c); }), errc::collection_not_found);
  EXPECT_EQ(code_of([&] {
              store_->upsert(c, {rec("a", {1, 0, 0})});
            }),
            errc::collection_not_found);
  // Recreated with another spec under the same name: the cached id is stale.
  EXPECT_TRUE(store_->create_collection({c, 2, metric::ip}));
  EXPECT_EQ(store_->upsert(c, {rec("a", {1, 0})}), 1u);
  EXPECT_EQ(store_->count(c), 1u);
}

TEST_F(ChromaStore, UpsertGetCountKeepTypes) {
  auto c = make(3, metric::l2);
  metadata m{{"big", std::int64_t{9007199254740993}},
             {"one", 1.0},
             {"flag", true},
             {"s", std::string("text")},
             {"neg", std::int64_t{-5}}};
  ASSERT_EQ(store_->upsert(c, {rec("a", {0.1f, 0.2f, 0.3f}, m, "doc a"),
                               rec("b", {1, 2, 3}), rec("c", {3, 2, 1})}),
            3u);
  EXPECT_EQ(store_->count(c), 3u);
  auto got = store_->get(c, {"c", "missing", "a"});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, "c");
  EXPECT_EQ(got[1], rec("a", {0.1f, 0.2f, 0.3f}, m, "doc a"));
  EXPECT_TRUE(std::holds_alternative<double>(got[1].metadata.at("one")));
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(got[1].metadata.at("big")));
  EXPECT_FALSE(got[0].document.has_value());
  EXPECT_TRUE(got[0].metadata.empty());
}

TEST_F(ChromaStore, UpsertReplacesWholeRecord) {
  auto c = make(2, metric::l2);
  store_->upsert(
      c, {rec("a", {1, 0}, {{"old", std::int64_t{1}}, {"k", 2.5}}, "first"),
          rec("b", {0, 1}, {{"gone", true}}, "doc b")});
  store_->upsert(
      c, {rec("a", {0, 1}, {{"k", std::string("new")}}), rec("b", {1, 1})});
  auto got = store_->get(c, {"a", "b"});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], rec("a", {0, 1}, {{"k", std::string("new")}}));
  EXPECT_EQ(got[1], rec("b", {1, 1}));
  // The filter index forgot the old values too.
  EXPECT_TRUE(
      search_ids(c, {1, 0}, 5, filter::eq("old", std::int64_t{1})).empty());
  std::vector<vector_record> batch{rec("x", {1, 2}, {{"v", 1.5}}, "d"),
                                   rec("y", {2, 1})};
  store_->upsert(c, batch);
  store_->upsert(c, batch);
  EXPECT_EQ(store_->count(c), 4u);
  EXPECT_EQ(store_->get(c, {"x", "y"}), batch);
}

// A document taken away goes in the upsert's one request (Chroma would keep
// it if the upsert named none): read back as none by get, search and scan,
// an empty document stays empty, and a document given again comes back.
TEST_F(ChromaStore, ADocumentTakenAwayIsGoneInOneUpsert) {
  for (auto m : {metric::l2, metric::cosine}) {
    auto c = make(2, m, m == metric::l2 ? "-l2" : "-cos");
    store_->upsert(c, {rec("a", {0.3f, 0.4f}, {}, "first"),
                       rec("e", {1, 1}, {}, "empty soon")});
    store_->upsert(c, {rec("a", {0.3f, 0.4f}), rec("e", {1, 1}, {}, "")});
    EXPECT_EQ(store_->get(c, {"a", "e"}),
              (std::vector<vector_record>{rec("a", {0.3f, 0.4f}),
                                          rec("e", {1, 1}, {}, "")}));
    search_request req;
    req.query = {0.3f, 0.4f};
    req.k = 1;
    auto hits = store_->search(c, req);
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0].id, "a");
    EXPECT_FALSE(hits[0].document.has_value());
    auto page = store_->scan(c, "", 10);
    ASSERT_EQ(page.records.size(), 2u);
    EXPECT_FALSE(page.records[0].document.has_value());
    EXPECT_EQ(page.records[1].document, "");
    store_->upsert(c, {rec("a", {0.3f, 0.4f}, {}, "again")});
    EXPECT_EQ(store_->get(c, {"a"})[0].document, "again");
    store_->upsert(c, {rec("a", {0.3f, 0.4f})});
    EXPECT_EQ(store_->get(c, {"a"}),
              std::vector<vector_record>{rec("a", {0.3f, 0.4f})});
  }
}

TEST_F(ChromaStore, RemoveCountsOnlyExisting) {
  auto c = make(2, metric::l2);
  store_->upsert(c, {rec("a", {1, 0}, {{"g", std::int64_t{1}}}),
                     rec("b", {0, 1}, {{"g", std::int64_t{2}}}),
                     rec("c", {1, 1}, {{"g", 1.0}})});
  EXPECT_EQ(store_->remove(c, {"nope"}), 0u);
  EXPECT_EQ(store_->remove(c, {"b", "nope"}), 1u);
  EXPECT_EQ(store_->remove_where(c, filter::eq("g", std::int64_t{1})), 2u);
  EXPECT_EQ(store_->remove_where(c, filter::eq("g", std::int64_t{1})), 0u);
  EXPECT_EQ(store_->count(c), 0u);
}

TEST_F(ChromaStore, ExactDistancesPerMetric) {
  struct expected {
    metric m;
    double base, orth, opposite;
  };
  for (auto e :
       {expected{metric::l2, 0, 2, 4}, expected{metric::cosine, 0, 1, 2},
        expected{metric::ip, 0, 1, 2}}) {
    auto c = make(3, e.m, std::string("-") + to_string(e.m));
    store_->upsert(c, {rec("base", {1, 0, 0}), rec("opposite", {-1, 0, 0}),
                       rec("orth", {0, 1, 0})});
    search_request req;
    req.query = {1, 0, 0};
    req.k = 3;
    req.include.embedding = true;
    auto hits = store_->search(c, req);
    ASSERT_EQ(ids_of(hits),
              (std::vector<std::string>{"base", "orth", "opposite"}));
    EXPECT_EQ(hits[0].distance, e.base) << to_string(e.m);
    EXPECT_EQ(hits[1].distance, e.orth) << to_string(e.m);
    EXPECT_EQ(hits[2].distance, e.opposite) << to_string(e.m);
    EXPECT_EQ(hits[2].embedding, (std::vector<float>{-1, 0, 0}));
  }
}

TEST_F(ChromaStore, TiesOrderById) {
  auto c = make(2, metric::l2);
  std::vector<vector_record> batch;
  // More ties than k + the fetch margin, inserted in reverse id order.
  for (int i = 40; i >= 0; --i)
    batch.push_back(rec("t" + std::to_string(100 + i), {1, 1}));
  batch.push_back(rec("near", {1, 1.001f}));
  store_->upsert(c, batch);
  EXPECT_EQ(search_ids(c, {1, 1}, 4),
            (std::vector<std::string>{"t100", "t101", "t102", "t103"}));
  EXPECT_EQ(search_ids(c, {1, 2}, 1), (std::vector<std::string>{"near"}));
}

TEST_F(ChromaStore, EveryWhereOperator) {
  auto c = make(2, metric::l2);
  std::vector<vector_record> rs{
      rec("i1", {1, 0}, {{"v", std::int64_t{1}}}),
      rec("i0", {1, 0}, {{"v", std::int64_t{0}}}),
      rec("im1", {1, 0}, {{"v", std::int64_t{-1}}}),
      rec("f1", {1, 0}, {{"v", 1.0}}),
      rec("f15", {1, 0}, {{"v", 1.5}}),
      rec("fm15", {1, 0}, {{"v", -1.5}}),
      rec("t", {1, 0}, {{"v", true}}),
      rec("s1", {1, 0}, {{"v", std::string("1")}}),
      rec("big", {1, 0}, {{"v", std::int64_t{9007199254740993}}}),
      rec("none", {1, 0}, {{"w", std::int64_t{1}}})};
  store_->upsert(c, rs);
  std::vector<std::string> filters = {
      R"({"v": 1})",
      R"({"v": {"$eq": 1.0}})",
      R"({"v": {"$eq": true}})",
      R"({"v": {"$eq": "1"}})",
      R"({"v": {"$ne": 1}})",
      R"({"v": {"$ne": true}})",
      R"({"v": {"$gt": 0}})",
      R"({"v": {"$gte": 1}})",
      R"({"v": {"$lt": 1}})",
      R"({"v": {"$lte": -1}})",
      R"({"v": {"$eq": 0.5}})",
      R"({"v": {"$ne": 0.5}})",
      R"({"v": {"$lt": 1.2}})",
      R"({"v": {"$lte": -0.5}})",
      R"({"v": {"$gt": -0.5}})",
      R"({"v": {"$gte": 1.2}})",
      R"({"v": {"$gt": 9007199254740992}})",
      R"({"v": {"$in": [1, "1", true]}})",
      R"({"v": {"$in": [1.5, 0]}})",
      R"({"v": {"$nin": [1, "1"]}})",
      R"({"v": {"$nin": [true, -1.5, 0]}})",
      R"({"w": {"$ne": 1}})",
      R"({"w": {"$nin": [2]}})",
      R"({"$or": [{"v": {"$lt": 0}}, {"w": 1}]})",
      R"({"$and": [{"v": {"$gte": 0}}, {"v": {"$lt": 1.5}}]})",
      R"({"$and": [{"v": {"$ne": 1}}]})",
      R"({"$or": [{"$and": [{"v": 1}, {"v": {"$ne": 1.0}}]}, {"v": true}]})"};
  for (auto& text : filters) {
    auto f = filter::parse(text);
    std::vector<std::string> want;
    for (auto& r : rs)
      if (f.matches(r.metadata)) want.push_back(r.id);
    std::sort(want.begin(), want.end());
    auto got = search_ids(c, {1, 0}, 100, f);
    EXPECT_EQ(got, want) << text;  // one distance: ordered by id
  }
  EXPECT_EQ(
      store_->remove_where(c, filter::parse(R"({"v": {"$in": [1, 1.5]}})")),
      3u);
}

TEST_F(ChromaStore, FilteredSearchReturnsMinOfKAndMatches) {
  const std::uint32_t dim = 16, n = 3000;
  auto c = make(dim, metric::l2);
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  std::vector<vector_record> rs;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::vector<float> v(dim);
    for (auto& x : v) x = g(rng);
    rs.push_back(rec("r" + std::to_string(10000 + i), v,
                     {{"g", std::int64_t{i % 100}}, {"i", std::int64_t{i}}}));
  }
  store_->upsert(c, rs);
  ASSERT_EQ(store_->count(c), n);
  auto reference = [&](const std::vector<float>& q, std::size_t k,
                       const filter& f) {
    std::vector<std::pair<double, std::string>> all;
    for (auto& r : rs)
      if (f.matches(r.metadata))
        all.emplace_back(distance(metric::l2, q, r.embedding), r.id);
    std::sort(all.begin(), all.end());
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < all.size() && i < k; ++i)
      ids.push_back(all[i].second);
    return ids;
  };
  std::vector<filter> filters{
      filter::eq("g", std::int64_t{7}), filter::eq("i", std::int64_t{1234}),
      filter::lt("i", std::int64_t{15}), filter::ne("g", std::int64_t{3})};
  for (int round = 0; round < 5; ++round) {
    std::vector<float> q(dim);
    for (auto& x : q) x = g(rng);
    for (auto& f : filters)
      for (std::uint32_t k : {1u, 10u, 50u})
        EXPECT_EQ(search_ids(c, q, k, f), reference(q, k, f))
            << f.to_json() << " k=" << k;
  }
}

TEST_F(ChromaStore, ScanCoversEveryIdOnceInOrder) {
  auto c = make(2, metric::l2);
  std::vector<vector_record> rs;
  std::vector<std::string> want;
  for (int i = 0; i < 250; ++i) {
    std::string id = (i % 2 ? "b" : "a") + std::to_string(i * 7919 % 1000);
    rs.push_back(rec(id, {float(i), 1}));
    want.push_back(id);
  }
  store_->upsert(c, rs);
  std::sort(want.begin(), want.end());
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = store_->scan(c, cursor, 64);
    for (auto& r : page.records) {
      seen.push_back(r.id);
      EXPECT_EQ(r.embedding.size(), 2u);
    }
    cursor = page.next_cursor;
    ASSERT_LT(++pages, 10);
  } while (!cursor.empty());
  EXPECT_EQ(seen, want);
  EXPECT_EQ(pages, 4);
}

TEST_F(ChromaStore, RejectsWrongDimensionAndReservedKeys) {
  auto c = make(3, metric::cosine);
  store_->upsert(c, {rec("a", {1, 0, 0})});
  EXPECT_EQ(code_of([&] {
              store_->upsert(c, {rec("b", {1, 0})});
            }),
            errc::dimension_mismatch);
  EXPECT_EQ(code_of([&] {
              search_ids(c, {1, 0}, 1);
            }),
            errc::dimension_mismatch);
  EXPECT_EQ(code_of([&] {
              store_->upsert(c, {rec("b", {1, 0, 0},
                                     {{"chroma:document", std::string("x")}})});
            }),
            errc::invalid_argument);
  EXPECT_EQ(store_->count(c), 1u);
  // An empty collection knows its dimension too.
  auto e = make(4, metric::l2, "-empty");
  EXPECT_EQ(code_of([&] {
              store_->upsert(e, {rec("b", {1, 0})});
            }),
            errc::dimension_mismatch);
  EXPECT_TRUE(search_ids(e, {1, 0, 0, 0}, 3).empty());
}

TEST_F(ChromaStore, CreatesMissingDatabase) {
  std::string base = test::chroma_uri();
  auto uri = store_uri::parse(
      base + (base.find('?') == std::string::npos ? "?" : "&") +
      "database=storage_adapter_test_db");
  auto s = make_chroma_store(uri, 0, 1);
  std::string c = name_ + "-db";
  s->drop_collection(c);
  EXPECT_TRUE(s->create_collection({c, 2, metric::ip}));
  EXPECT_EQ(s->upsert(c, {rec("a", {1, 0})}), 1u);
  // Another database: the default one does not see it.
  EXPECT_EQ(code_of([&] { store_->count(c); }), errc::collection_not_found);
  EXPECT_TRUE(s->drop_collection(c));
}

TEST_F(ChromaStore, UnknownParameterIsInvalid) {
  EXPECT_EQ(code_of([] {
              make_chroma_store(
                  store_uri::parse("chroma://127.0.0.1:58000?bogus=1"), 0, 1);
            }),
            errc::invalid_argument);
}

TEST_F(ChromaStore, UnreachableServerFailsFastNamingIt) {
  auto s = make_chroma_store(store_uri::parse("chroma://127.0.0.1:1"), 0, 1);
  auto start = std::chrono::steady_clock::now();
  try {
    s->count("anything");
    FAIL() << "no error";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::backend_unavailable);
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

}  // namespace
}  // namespace storage
