// pgvector_store against the real PostgreSQL of scripts/services.sh. A server
// that is down fails these tests; nothing is skipped.
#include "adapters/pgvector/pgvector_store.hpp"

#include <gtest/gtest.h>
#include <postgresql/libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "adapters/factories.hpp"
#include "adapters/pgvector/pgvector_store_detail.hpp"
#include "adapters/pgvector_store_fixture.hpp"
#include "messages/distance.hpp"
#include "messages/errors.hpp"
#include "support/servers.hpp"

namespace storage {
namespace {

using namespace pgtest;

TEST_F(pgvector, collection_lifecycle) {
  make(3, metric::cosine);
  EXPECT_FALSE(store->create_collection({name, 3, metric::cosine}));
  EXPECT_EQ(code_of([&] {
              store->create_collection({name, 4, metric::cosine});
            }),
            errc::conflict);
  EXPECT_EQ(code_of([&] {
              store->create_collection({name, 3, metric::l2});
            }),
            errc::conflict);
  auto list = store->list_collections();
  EXPECT_NE(std::find(list.begin(), list.end(),
                      collection_spec{name, 3, metric::cosine}),
            list.end());
  // Case-distinct names are distinct collections.
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_TRUE(store->create_collection({upper, 2, metric::ip}));
  store->upsert(upper, {rec("x", {1, 2})});
  EXPECT_EQ(store->count(name), 0u);
  EXPECT_TRUE(store->drop_collection(upper));
  EXPECT_TRUE(store->drop_collection(name));
  EXPECT_FALSE(store->drop_collection(name));
  EXPECT_EQ(code_of([&] { store->count(name); }), errc::collection_not_found);
  EXPECT_EQ(code_of([&] {
              store->upsert(name, {rec("a", {1, 2, 3})});
            }),
            errc::collection_not_found);
  EXPECT_EQ(code_of([&] {
              store->create_collection({"a b", 3, metric::l2});
            }),
            errc::invalid_argument);
  name.clear();
}

TEST_F(pgvector, concurrent_creates_are_safe) {
  name = unique_name("concurrent");
  std::atomic<int> created{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      try {
        auto s = open();
        if (s->create_collection({name, 8, metric::l2})) ++created;
      } catch (const store_error&) {
        ++failed;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(failed.load(), 0);
}

// Writers that upsert and remove overlapping ids in their own orders, each
// on its own connection as a pool's workers are: every write succeeds.
// Rows were once deleted in the scan's order and upserted in id order, and
// two such statements sharing rows deadlocked (SQLSTATE 40P01, conflict).
TEST_F(pgvector, concurrent_writes_of_shared_ids_never_deadlock) {
  auto c = make(2);
  std::atomic<int> writes{0};
  std::vector<std::string> failures;
  std::mutex mtx;
  std::vector<std::thread> threads;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      auto s = open();
      std::mt19937 rng(static_cast<unsigned>(t));
      std::vector<std::string> ids;
      for (int i = 0; i < 40; ++i) ids.push_back("k" + std::to_string(i));
      while (std::chrono::steady_clock::now() < until) {
        std::shuffle(ids.begin(), ids.end(), rng);
        std::vector<std::string> some(ids.begin(), ids.begin() + 12);
        try {
          if (rng() % 2) {
            std::vector<vector_record> rs;
            for (auto& id : some)
              rs.push_back(rec(id, {static_cast<float>(t), 1}));
            s->upsert(c, rs);
          } else {
            s->remove(c, some);
          }
          ++writes;
        } catch (const store_error& e) {
          std::lock_guard<std::mutex> g(mtx);
          failures.push_back(e.what());
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_GT(writes.load(), 100);
  EXPECT_TRUE(failures.empty())
      << failures.size() << " failed, first: " << failures.front();
}

TEST_F(pgvector, upsert_get_count_remove) {
  make(3);
  metadata m{
      {"i", std::int64_t{-7}}, {"d", 1.0},  {"big", 1e15},
      {"tiny", 5e-324},        {"b", true}, {"s", std::string("é \"q\" \\")}};
  EXPECT_EQ(store->upsert(name, {rec("a", {1, 2, 3}, m, "doc"),
                                 rec("b", {0.1f, 1e-7f, -3.5f})}),
            2u);
  EXPECT_EQ(store->count(name), 2u);
  auto got = store->get(name, {"b", "missing", "a"});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], rec("b", {0.1f, 1e-7f, -3.5f}));
  EXPECT_EQ(got[1], rec("a", {1, 2, 3}, m, "doc"));
  EXPECT_TRUE(std::holds_alternative<double>(got[1].metadata["d"]));
  EXPECT_TRUE(std::holds_alternative<double>(got[1].metadata["big"]));
  // Replacing a record replaces its metadata entirely.
  store->upsert(name, {rec("a", {3, 2, 1}, {{"only", std::string("x")}})});
  EXPECT_EQ(store->get(name, {"a"}).at(0),
            rec("a", {3, 2, 1}, {{"only", std::string("x")}}));
  // The same batch twice leaves one copy.
  std::vector<vector_record> batch{rec("c", {1, 1, 1}), rec("d", {2, 2, 2})};
  store->upsert(name, batch);
  store->upsert(name, batch);
  EXPECT_EQ(store->count(name), 4u);
  EXPECT_EQ(store->remove(name, {"nope"}), 0u);
  EXPECT_EQ(store->remove(name, {"c", "nope", "d"}), 2u);
  EXPECT_EQ(store->count(name), 2u);
  // Wrong dimension writes nothing.
  EXPECT_EQ(code_of([&] {
              store->upsert(name, {rec("e", {1, 1}), rec("f", {1, 1})});
            }),
            errc::dimension_mismatch);
  EXPECT_EQ(code_of([&] {
              store->search(name, {{1, 2}, 3, {}, {}});
            }),
            errc::dimension_mismatch);
  EXPECT_EQ(store->count(name), 2u);
}

TEST_F(pgvector, exact_distances_per_metric) {
  for (auto m : {metric::l2, metric::cosine, metric::ip}) {
    SCOPED_TRACE(to_string(m));
    make(3, m);
    store->upsert(name, {rec("base", {1, 0, 0}), rec("opposite", {-1, 0, 0}),
                         rec("orthogonal", {0, 1, 0})});
    search_request req{{1, 0, 0}, 3, {}, {}};
    req.include.embedding = true;
    auto hits = store->search(name, req);
    ASSERT_EQ(hits.size(), 3u);
    double far = m == metric::l2 ? 4 : 2, mid = m == metric::l2 ? 2 : 1;
    EXPECT_EQ(ids_of(hits),
              (std::vector<std::string>{"base", "orthogonal", "opposite"}));
    EXPECT_DOUBLE_EQ(hits[0].distance, 0);
    EXPECT_DOUBLE_EQ(hits[1].distance, mid);
    EXPECT_DOUBLE_EQ(hits[2].distance, far);
    EXPECT_EQ(hits[2].embedding, (std::vector<float>{-1, 0, 0}));
    store->drop_collection(name);
  }
}

TEST_F(pgvector, ties_order_by_id_bytewise) {
  make(2, metric::l2, "exact_below=0");
  std::vector<vector_record> batch;
  for (auto id : {"b", "a", "B", "c", "_", "aa"})
    batch.push_back(rec(id, {1, 1}));
  batch.push_back(rec("far", {9, 9}));
  store->upsert(name, batch);
  auto hits = store->search(name, {{1, 1}, 4, {}, {}});
  EXPECT_EQ(ids_of(hits), (std::vector<std::string>{"B", "_", "a", "aa"}));
}

// A tie wider than what the index fetches (k + 10 rows, in the server's
// order): the k smallest ids of it, through search and search_batch.
TEST_F(pgvector, a_tie_wider_than_the_index_fetch_keeps_id_order) {
  make(2, metric::l2, "exact_below=0");
  std::vector<vector_record> batch;
  std::vector<std::string> tied;
  for (int i = 0; i < 40; ++i) {
    auto id = "t" + std::to_string((i * 37) % 40 + 100);
    tied.push_back(id);
    batch.push_back(rec(id, {1, 1}));
  }
  for (int i = 0; i < 20; ++i)
    batch.push_back(rec("far" + std::to_string(i), {9, float(9 + i)}));
  store->upsert(name, batch);
  std::sort(tied.begin(), tied.end());
  for (std::uint32_t k : {1u, 5u, 29u}) {
    auto want = std::vector<std::string>(tied.begin(), tied.begin() + k);
    EXPECT_EQ(ids_of(store->search(name, {{1, 1}, k, {}, {}})), want) << k;
    batch_search_request b;
    b.queries = {{1, 1}, {1, 1}};
    b.k = k;
    for (auto& hits : store->search_batch(name, b))
      EXPECT_EQ(ids_of(hits), want) << "batch, k=" << k;
  }
}

// Every operator, against the reference filter::matches.
TEST_F(pgvector, where_matches_the_reference) {
  make(2);
  std::vector<vector_record> batch;
  std::vector<metadata> metas{
      {},
      {{"n", std::int64_t{1}}},
      {{"n", 1.0}},
      {{"n", 1.5}, {"s", std::string("1")}},
      {{"n", std::int64_t{2}}, {"b", true}},
      {{"n", std::string("2")}, {"b", false}},
      {{"n", true}, {"s", std::string("abc")}},
      {{"n", std::int64_t{9007199254740993}}},
      {{"n", -3.25}, {"s", std::string("")}},
  };
  for (std::size_t i = 0; i < metas.size(); ++i)
    batch.push_back(rec("r" + std::to_string(i), {float(i), 0}, metas[i]));
  store->upsert(name, batch);
  std::vector<std::string> filters{
      R"({"n": 1})",
      R"({"n": 1.0})",
      R"({"n": {"$eq": 2}})",
      R"({"n": {"$ne": 1}})",
      R"({"n": {"$gt": 1}})",
      R"({"n": {"$gte": 1}})",
      R"({"n": {"$lt": 1.5}})",
      R"({"n": {"$lte": -3.25}})",
      R"({"n": {"$in": [1, "2", true]}})",
      R"({"n": {"$nin": [1.5, "2"]}})",
      R"({"n": "2"})",
      R"({"n": true})",
      R"({"b": false})",
      R"({"b": {"$ne": true}})",
      R"({"s": ""})",
      R"({"s": {"$in": ["1", 1]}})",
      R"({"missing": {"$ne": 0}})",
      R"({"missing": {"$nin": [0]}})",
      R"({"missing": 0})",
      R"({"n": 9007199254740992.0})",
      R"({"n": 9007199254740992})",
      R"({"n": {"$gt": 9007199254740992}})",
      R"({"$or": [{"n": {"$lt": 0}}, {"b": true}]})",
      R"({"$and": [{"n": {"$gte": 1}}, {"n": {"$lte": 1.5}}]})",
      R"({"n": {"$gt": 0, "$lt": 2}, "s": {"$ne": "1"}})"};
  for (auto& text : filters) {
    SCOPED_TRACE(text);
    auto f = filter::parse(text);
    std::vector<std::string> want;
    for (auto& r : batch)
      if (f.matches(r.metadata)) want.push_back(r.id);
    search_request req{{0, 0}, 100, f, {}};
    auto got = ids_of(store->search(name, req));
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want);
  }
  auto gt1 = filter::parse(R"({"n": {"$gt": 1}})");
  auto want = std::count_if(batch.begin(), batch.end(),
                            [&](auto& r) { return gt1.matches(r.metadata); });
  EXPECT_EQ(want, 3);
  EXPECT_EQ(store->remove_where(name, gt1), 3u);
  EXPECT_EQ(store->count(name), batch.size() - 3);
}

// Searches with a filter return min(k, matches), through the HNSW index
// (exact_below=0) and through the exact path, equal to brute force.
TEST_F(pgvector, filtered_search_returns_min_k_matches) {
  for (auto extra : {"exact_below=0", "exact_below=10000"}) {
    SCOPED_TRACE(extra);
    make(16, metric::l2, extra);
    std::mt19937 rng(7);
    std::normal_distribution<float> g;
    std::vector<vector_record> all;
    for (int i = 0; i < 3000; ++i) {
      std::vector<float> e(16);
      for (auto& x : e) x = g(rng);
      metadata m{{"pct", std::int64_t{i % 100}}};
      if (i == 17 || i == 1700 || i == 2999) m["rare"] = true;
      all.push_back(rec("id" + std::to_string(i), e, m));
    }
    for (std::size_t i = 0; i < all.size(); i += 500)
      store->upsert(name, {all.begin() + i, all.begin() + i + 500});
    std::vector<float> q(16, 0.1f);
    auto brute = [&](const filter& f, std::size_t k) {
      std::vector<std::pair<double, std::string>> d;
      for (auto& r : all)
        if (f.matches(r.metadata))
          d.emplace_back(distance(metric::l2, q, r.embedding), r.id);
      std::sort(d.begin(), d.end());
      std::vector<std::string> out;
      for (std::size_t i = 0; i < std::min(k, d.size()); ++i)
        out.push_back(d[i].second);
      return out;
    };
    auto one_pct = filter::eq("pct", std::int64_t{42});
    auto hits = store->search(name, {q, 10, one_pct, {}});
    EXPECT_EQ(hits.size(), 10u);
    EXPECT_EQ(ids_of(hits), brute(one_pct, 10));
    auto rare = filter::eq("rare", true);
    EXPECT_EQ(ids_of(store->search(name, {q, 10, rare, {}})), brute(rare, 10));
    auto none = filter::eq("pct", std::int64_t{1000});
    EXPECT_TRUE(store->search(name, {q, 10, none, {}}).empty());
    EXPECT_EQ(ids_of(store->search(name, {q, 10, {}, {}})),
              brute(filter::ne("pct", std::int64_t{-1}), 10));
    // k beyond the HNSW search list (ef_search 200, max 1000).
    auto every = filter::ne("pct", std::int64_t{-1});
    EXPECT_EQ(ids_of(store->search(name, {q, 1500, {}, {}})),
              brute(every, 1500));
    EXPECT_EQ(store->search(name, {q, 1500, one_pct, {}}).size(), 30u);
    store->drop_collection(name);
  }
}

TEST_F(pgvector, scan_pages_cover_every_id_once_in_order) {
  make(2);
  std::vector<vector_record> batch;
  std::vector<std::string> want;
  for (int i = 0; i < 250; ++i) {
    auto id = (i % 3 ? "k" : "K") + std::to_string(i * 7919 % 1000);
    batch.push_back(rec(id, {float(i), 1}));
    want.push_back(id);
  }
  store->upsert(name, batch);
  std::sort(want.begin(), want.end());
  std::vector<std::string> seen;
  std::string cursor;
  do {
    auto page = store->scan(name, cursor, 64);
    for (auto& r : page.records) seen.push_back(r.id);
    cursor = page.next_cursor;
  } while (!cursor.empty());
  EXPECT_EQ(seen, want);
}

// Small batches go through INSERT ... unnest, large ones through COPY: both
// must carry every byte verbatim.
TEST_F(pgvector, hostile_strings_are_inert) {
  make(2);
  std::string evil = "'; DROP TABLE storage_collections; --";
  std::vector<std::string> nasty{evil,           "\"quoted\"", "semi;colon",
                                 "back\\slash",  "{a,b}",      "$1",
                                 "x' OR '1'='1", "tab\there",  "new\nline\r",
                                 "\\N",          "NULL",       "ü✓"};
  for (std::size_t copies : {1, 4}) {
    std::vector<vector_record> batch;
    for (std::size_t c = 0; c < copies; ++c)
      for (std::size_t i = 0; i < nasty.size(); ++i) {
        auto id = nasty[i] + std::string(c, '#');
        batch.push_back(rec(id, {float(i), 0}, {{nasty[i], id}}, id));
      }
    store->upsert(name, batch);
    EXPECT_EQ(store->get(name, {batch.back().id}).at(0), batch.back());
  }
  EXPECT_EQ(store->count(name), nasty.size() * 4);
  for (auto& s : nasty) {
    SCOPED_TRACE(s);
    auto got = store->get(name, {s});
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].document, s);
    EXPECT_EQ(ids_of(store->search(name, {{0, 0}, 10, filter::eq(s, s), {}})),
              std::vector<std::string>{s});
  }
  EXPECT_EQ(store->remove_where(name, filter::eq(evil, std::string("no"))), 0u);
  EXPECT_EQ(store->remove(name, {evil}), 1u);
  EXPECT_EQ(store->count(name), nasty.size() * 4 - 1);
  EXPECT_FALSE(store->list_collections().empty());
  EXPECT_EQ(code_of([&] {
              store->upsert(name, {rec(std::string("a\0b", 3), {1, 1})});
            }),
            errc::invalid_argument);
  EXPECT_EQ(code_of([&] {
              store->upsert(name, {rec("\xff\xfe", {1, 1})});
            }),
            errc::invalid_argument);
}

#include "pgvector_store_pipeline_tests.hpp"

}  // namespace
}  // namespace storage
