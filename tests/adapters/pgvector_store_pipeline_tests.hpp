// Included by pgvector_store_test.cpp, inside its namespaces and after
// adapters/pgvector/pgvector_store_detail.hpp: the libpq pipeline batch search
// rides on, on a bare connection, and batch search through the adapter itself.
#pragma once

inline pgv::statement stmt(std::string sql) {
  return {std::move(sql), {}};
}

inline std::unique_ptr<pgv::connection> bare_connection() {
  auto c = std::make_unique<pgv::connection>(
      store_uri::parse(test::pgvector_uri()), pgvector_store::options{});
  c->ensure();
  c->set_deadline(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  return c;
}

TEST(pgvector_pipeline, answers_every_statement_in_order) {
  auto c = bare_connection();
  EXPECT_TRUE(c->exec_pipeline({}).empty());
  pgv::statement param{"SELECT $1::int + 1", {}};
  param.args.add("41");
  auto rs = c->exec_pipeline(
      {stmt("SELECT 'one'"), param, stmt("SELECT generate_series(1, 3)")});
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].text(0, 0), "one");
  EXPECT_EQ(rs[1].text(0, 0), "42");
  EXPECT_EQ(rs[2].rows(), 3);
  // Out of pipeline mode again: a plain statement works.
  EXPECT_EQ(c->exec("SELECT 7").text(0, 0), "7");
}

// The first failure aborts the rest and is thrown as exec() throws it; the
// pipeline was one transaction, so a setting made before it is undone (why
// search_rows_batch records a raised ef_search only after success); the
// connection stays usable.
TEST(pgvector_pipeline, failure_rolls_back_and_leaves_the_connection_usable) {
  auto c = bare_connection();
  auto before = c->exec("SHOW hnsw.ef_search").text(0, 0);
  ASSERT_NE(before, "77");
  std::string what;
  auto code = code_of(
      [&] {
        c->exec_pipeline(
            {stmt("SELECT set_config('hnsw.ef_search', '77', false)"),
             stmt("SELECT 1/0"), stmt("SELECT 3")});
      },
      &what);
  EXPECT_EQ(code, errc::invalid_argument) << what;
  EXPECT_NE(what.find("22012"), std::string::npos) << what;
  EXPECT_TRUE(c->open());
  EXPECT_EQ(c->exec("SHOW hnsw.ef_search").text(0, 0), before);
  auto rs = c->exec_pipeline({stmt("SELECT 5")});
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].text(0, 0), "5");
}

// A pipeline still running at the request's deadline ends with timeout
// then, and the connection is dropped (it may still be busy server-side).
TEST(pgvector_pipeline, ends_by_the_deadline) {
  auto c = bare_connection();
  c->set_deadline(std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of([&] {
              c->exec_pipeline({stmt("SELECT 1"), stmt("SELECT pg_sleep(5)")});
            }),
            errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_FALSE(c->open());
  // The next request's deadline: a connect gives up at the current one.
  c->set_deadline(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  c->ensure();
  EXPECT_EQ(c->exec("SELECT 1").text(0, 0), "1");
}

// Through the adapter, on the index path and the exact one: each list is
// what search() returns for its query, including a zero cosine query (always
// scanned exactly) and a filter the index answers short.
TEST_F(pgvector, batch_search_equals_one_by_one) {
  for (auto extra : {"exact_below=0", "exact_below=10000"}) {
    SCOPED_TRACE(extra);
    make(4, metric::cosine, extra);
    std::mt19937 rng(3);
    std::normal_distribution<float> g;
    std::vector<vector_record> all;
    for (int i = 0; i < 400; ++i) {
      std::vector<float> e(4);
      for (auto& x : e) x = g(rng);
      all.push_back(rec("id" + std::to_string(i), e,
                        {{"rare", i % 150 == 1}, {"n", std::int64_t{i}}}));
    }
    store->upsert(name, all);
    batch_search_request b;
    for (int i = 0; i < 12; ++i) {
      std::vector<float> q(4);
      for (auto& x : q) x = g(rng);
      b.queries.push_back(q);
    }
    b.queries.push_back({0, 0, 0, 0});
    for (auto where : {std::optional<filter>{},
                       std::optional<filter>{filter::eq("rare", true)}}) {
      b.where = where;
      b.k = 5;
      auto lists = store->search_batch(name, b);
      ASSERT_EQ(lists.size(), b.queries.size());
      for (std::size_t q = 0; q < b.queries.size(); ++q) {
        auto one = store->search(name, {b.queries[q], b.k, b.where, {}});
        EXPECT_EQ(ids_of(lists[q]), ids_of(one)) << "query " << q;
        ASSERT_EQ(lists[q].size(), one.size());
        for (std::size_t i = 0; i < one.size(); ++i) {
          EXPECT_EQ(lists[q][i].distance, one[i].distance);
          EXPECT_EQ(lists[q][i].metadata, one[i].metadata);
        }
      }
    }
    std::string what;
    b.queries[3] = {1, 0};
    EXPECT_EQ(code_of([&] { store->search_batch(name, b); }, &what),
              errc::dimension_mismatch);
    EXPECT_NE(what.find("query 3"), std::string::npos) << what;
    for (auto& q : b.queries) q = {1, 0};
    EXPECT_EQ(code_of([&] { store->search_batch(name, b); }, &what),
              errc::dimension_mismatch);
    EXPECT_NE(what.find("query 0"), std::string::npos) << what;
    store->drop_collection(name);
  }
}
