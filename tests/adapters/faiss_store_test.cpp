// Direct tests of the faiss:// adapter on real files, for both index kinds.
#include "adapters/faiss_store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>

#include "adapters/factories.hpp"
#include "messages/distance.hpp"
#include "messages/errors.hpp"

namespace storage {
namespace {

std::string make_temp_dir() {
  char tmpl[] = "/tmp/faiss_store_test.XXXXXX";
  char* dir = mkdtemp(tmpl);
  if (!dir) throw std::runtime_error("mkdtemp failed");
  return dir;
}

vector_record rec(std::string id, std::vector<float> v, metadata m = {},
                  std::optional<std::string> doc = std::nullopt) {
  return vector_record{std::move(id), std::move(v), std::move(m),
                       std::move(doc)};
}

std::vector<float> random_vector(std::mt19937& rng, std::size_t dim) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(dim);
  for (auto& x : v) x = u(rng);
  return v;
}

errc code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const store_error& e) {
    return e.code();
  }
  return errc::ok;
}

// The contract's answer, computed the slow and obvious way.
std::vector<std::pair<double, std::string>> reference(
    const std::vector<vector_record>& records, metric m,
    const std::vector<float>& q, std::size_t k, const filter* where) {
  std::vector<std::pair<double, std::string>> all;
  for (auto& r : records)
    if (!where || where->matches(r.metadata))
      all.emplace_back(distance(m, q, r.embedding), r.id);
  std::sort(all.begin(), all.end());
  if (all.size() > k) all.resize(k);
  return all;
}

class faiss_store_test : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { dir_ = make_temp_dir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string uri(const std::string& extra = "") const {
    return "faiss://" + dir_ + "?index=" + GetParam() + extra;
  }
  std::unique_ptr<vector_backend> open(const std::string& extra = "") const {
    return make_faiss_store(store_uri::parse(uri(extra)), 0, 1);
  }

  std::string dir_;
};

TEST_P(faiss_store_test, collection_lifecycle) {
  auto s = open();
  EXPECT_TRUE(s->capabilities().in_process);
  EXPECT_EQ(s->capabilities().approximate, GetParam() == "hnsw");
  EXPECT_TRUE(s->create_collection({"docs", 4, metric::cosine}));
  EXPECT_FALSE(s->create_collection({"docs", 4, metric::cosine}));
  EXPECT_EQ(code_of([&] {
              s->create_collection({"docs", 5, metric::cosine});
            }),
            errc::conflict);
  EXPECT_EQ(code_of([&] {
              s->create_collection({"docs", 4, metric::l2});
            }),
            errc::conflict);
  EXPECT_TRUE(s->create_collection({"other", 2, metric::ip}));
  auto list = s->list_collections();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0], (collection_spec{"docs", 4, metric::cosine}));
  EXPECT_EQ(list[1], (collection_spec{"other", 2, metric::ip}));
  EXPECT_TRUE(s->drop_collection("docs"));
  EXPECT_FALSE(s->drop_collection("docs"));
  EXPECT_EQ(s->list_collections().size(), 1u);
}

TEST_P(faiss_store_test, missing_collection_is_not_found) {
  auto s = open();
  auto nf = errc::collection_not_found;
  EXPECT_EQ(code_of([&] { s->count("nope"); }), nf);
  EXPECT_EQ(code_of([&] { s->get("nope", {"a"}); }), nf);
  EXPECT_EQ(code_of([&] { s->upsert("nope", {rec("a", {1, 0})}); }), nf);
  EXPECT_EQ(code_of([&] { s->remove("nope", {"a"}); }), nf);
  EXPECT_EQ(code_of([&] { s->remove_where("nope", filter::eq("x", 1.0)); }),
            nf);
  EXPECT_EQ(code_of([&] { s->scan("nope", "", 10); }), nf);
  search_request req;
  req.query = {1, 0};
  EXPECT_EQ(code_of([&] { s->search("nope", req); }), nf);
  try {
    s->count("nope");
  } catch (const store_error& e) {
    EXPECT_NE(e.message().find("nope"), std::string::npos);
    EXPECT_EQ(e.operation(), "count");
  }
}

TEST_P(faiss_store_test, upsert_get_count) {
  auto s = open();
  s->create_collection({"col", 2, metric::l2});
  auto a = rec("a", {1, 2}, {{"n", std::int64_t{1}}, {"s", std::string("x")}},
               "doc a");
  auto b = rec("b", {3, 4}, {{"fil", 0.5}, {"t", true}});
  EXPECT_EQ(s->upsert("col", {a, b}), 2u);
  EXPECT_EQ(s->count("col"), 2u);
  auto got = s->get("col", {"b", "missing", "a"});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], b);
  EXPECT_EQ(got[1], a);
  EXPECT_FALSE(got[0].document.has_value());
  EXPECT_EQ(got[1].document, std::optional<std::string>("doc a"));
}

TEST_P(faiss_store_test, upsert_replaces_whole_record) {
  auto s = open();
  s->create_collection({"col", 2, metric::l2});
  s->upsert("col",
            {rec("a", {1, 2}, {{"x", std::int64_t{1}}, {"y", 2.5}}, "first")});
  s->upsert("col", {rec("a", {5, 6}, {{"x", std::int64_t{7}}})});
  auto got = s->get("col", {"a"});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].embedding, (std::vector<float>{5, 6}));
  EXPECT_EQ(got[0].metadata, (metadata{{"x", std::int64_t{7}}}));
  EXPECT_FALSE(got[0].document.has_value());
  // A null value is the same as an absent field.
  s->upsert("col", {rec("a", {5, 6}, {{"x", std::monostate{}}})});
  EXPECT_TRUE(s->get("col", {"a"})[0].metadata.empty());
  search_request req;
  req.query = {5, 6};
  auto hits = s->search("col", req);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].distance, 0.0);
}

TEST_P(faiss_store_test, same_batch_twice_is_one_copy) {
  auto s = open();
  s->create_collection({"col", 2, metric::cosine});
  std::vector<vector_record> batch{rec("a", {1, 0}), rec("b", {0, 1})};
  s->upsert("col", batch);
  search_request req;
  req.query = {1, 0};
  s->search("col", req);  // loads the index before the second write
  s->upsert("col", batch);
  EXPECT_EQ(s->count("col"), 2u);
  EXPECT_EQ(s->search("col", req).size(), 2u);
}

TEST_P(faiss_store_test, delete_reports_existing_only) {
  auto s = open();
  s->create_collection({"col", 2, metric::l2});
  s->upsert("col", {rec("a", {1, 0}), rec("b", {0, 1})});
  EXPECT_EQ(s->remove("col", {"x", "y"}), 0u);
  EXPECT_EQ(s->remove("col", {"a", "x"}), 1u);
  EXPECT_EQ(s->count("col"), 1u);
  EXPECT_TRUE(s->get("col", {"a"}).empty());
}

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

TEST_P(faiss_store_test, distances_match_contract_bit_for_bit) {
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
        if (r.id == h.id) {
          EXPECT_EQ(h.distance, distance(m, req.query, r.embedding));
        }
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
        EXPECT_EQ(hits[i].distance, want[i].first) << extra;
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

TEST_P(faiss_store_test, search_includes_only_what_is_asked) {
  auto s = open();
  s->create_collection({"col", 2, metric::l2});
  s->upsert("col", {rec("a", {1, 0}, {{"k", std::string("v")}}, "text")});
  search_request req;
  req.query = {1, 0};
  auto hit = s->search("col", req).at(0);
  EXPECT_EQ(hit.metadata, (metadata{{"k", std::string("v")}}));
  EXPECT_EQ(hit.document, std::optional<std::string>("text"));
  EXPECT_TRUE(hit.embedding.empty());
  req.include = include_fields{false, false, true};
  hit = s->search("col", req).at(0);
  EXPECT_TRUE(hit.metadata.empty());
  EXPECT_FALSE(hit.document.has_value());
  EXPECT_EQ(hit.embedding, (std::vector<float>{1, 0}));
}

TEST_P(faiss_store_test, scan_pages_cover_every_id_once_in_order) {
  auto s = open();
  s->create_collection({"col", 2, metric::l2});
  std::set<std::string> ids;
  std::vector<vector_record> batch;
  for (int i = 0; i < 250; ++i) {
    std::string id = (i % 5 == 0 ? "\xc3\xa9" : "k") + std::to_string(i);
    ids.insert(id);
    batch.push_back(rec(id, {float(i), 1}));
  }
  s->upsert("col", batch);
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = s->scan("col", cursor, 64);
    ASSERT_LE(page.records.size(), 64u);
    for (auto& r : page.records) seen.push_back(r.id);
    cursor = page.next_cursor;
    ASSERT_LT(++pages, 10);
  } while (!cursor.empty());
  EXPECT_EQ(pages, 4);
  // std::set<std::string> orders bytewise, as the contract does.
  EXPECT_EQ(seen, std::vector<std::string>(ids.begin(), ids.end()));
  EXPECT_TRUE(s->scan("col", seen.back(), 10).records.empty());
}

TEST_P(faiss_store_test, dimension_mismatch_writes_nothing) {
  auto s = open();
  s->create_collection({"col", 3, metric::l2});
  EXPECT_EQ(code_of([&] {
              s->upsert("col", {rec("a", {1, 2}), rec("b", {1, 2})});
            }),
            errc::dimension_mismatch);
  EXPECT_EQ(code_of([&] {
              s->upsert("col", {rec("a", {1, 2, 3}), rec("b", {1, 2})});
            }),
            errc::dimension_mismatch);
  EXPECT_EQ(s->count("col"), 0u);
  EXPECT_TRUE(s->get("col", {"a", "b"}).empty());
  search_request req;
  req.query = {1, 2};
  EXPECT_EQ(code_of([&] { s->search("col", req); }), errc::dimension_mismatch);
}

TEST_P(faiss_store_test, remove_where_deletes_matches) {
  auto s = open();
  s->create_collection({"col", 2, metric::l2});
  std::vector<vector_record> batch;
  for (int i = 0; i < 20; ++i)
    batch.push_back(
        rec("r" + std::to_string(i), {float(i), 0}, {{"even", i % 2 == 0}}));
  s->upsert("col", batch);
  EXPECT_EQ(s->remove_where("col", filter::eq("even", true)), 10u);
  EXPECT_EQ(s->count("col"), 10u);
  EXPECT_TRUE(s->get("col", {"r0", "r2"}).empty());
  EXPECT_EQ(s->get("col", {"r1"}).size(), 1u);
  EXPECT_EQ(s->remove_where("col", filter::eq("even", true)), 0u);
}

TEST_P(faiss_store_test, delete_and_reupsert_after_compaction) {
  auto s = open("&exact_below=0");
  s->create_collection({"col", 8, metric::l2});
  std::mt19937 rng(3);
  std::vector<vector_record> batch;
  for (int i = 0; i < 400; ++i)
    batch.push_back(rec("r" + std::to_string(i), random_vector(rng, 8)));
  s->upsert("col", batch);
  search_request req;
  req.query = batch[5].embedding;
  req.k = 5;
  EXPECT_EQ(s->search("col", req).at(0).id, "r5");
  std::vector<std::string> gone;
  for (int i = 0; i < 200; ++i) gone.push_back("r" + std::to_string(i));
  EXPECT_EQ(s->remove("col", gone), 200u);
  EXPECT_EQ(s->count("col"), 200u);
  for (auto& h : s->search("col", req))
    EXPECT_GE(std::stoi(h.id.substr(1)), 200) << h.id;
  std::vector<float> moved(8, 5.f);
  s->upsert("col", {rec("r5", moved)});
  req.query = moved;
  auto hits = s->search("col", req);
  ASSERT_EQ(hits.size(), 5u);
  EXPECT_EQ(hits[0].id, "r5");
  EXPECT_EQ(hits[0].distance, 0.0);
  EXPECT_EQ(s->count("col"), 201u);
}

TEST_P(faiss_store_test, reopen_finds_everything) {
  std::vector<vector_record> batch;
  for (int i = 0; i < 100; ++i)
    batch.push_back(rec("r" + std::to_string(i), {float(i), 1, 2},
                        {{"i", std::int64_t{i}}}, "doc" + std::to_string(i)));
  {
    auto s = open();
    s->create_collection({"col", 3, metric::l2});
    s->upsert("col", batch);
    s->remove("col", {"r0"});
  }
  auto s = open();
  EXPECT_EQ(s->list_collections().at(0),
            (collection_spec{"col", 3, metric::l2}));
  EXPECT_EQ(s->count("col"), 99u);
  EXPECT_EQ(s->get("col", {"r42"}).at(0), batch[42]);
  search_request req;
  req.query = {42, 1, 2};
  EXPECT_EQ(s->search("col", req).at(0).id, "r42");
}

TEST_P(faiss_store_test, acknowledged_upserts_survive_sigkill) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    try {
      auto s = open();
      s->create_collection({"col", 2, metric::l2});
      for (int b = 0;; ++b) {
        std::vector<vector_record> batch;
        for (int i = 0; i < 10; ++i)
          batch.push_back(
              rec("b" + std::to_string(b) + "-" + std::to_string(i), {1, 2}));
        s->upsert("col", batch);
        if (write(fds[1], &b, sizeof b) != sizeof b) _exit(2);
      }
    } catch (...) {
      _exit(1);
    }
  }
  close(fds[1]);
  int last = -1, b = 0;
  while (last < 20 && read(fds[0], &b, sizeof b) == sizeof b) last = b;
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_GE(last, 20);
  auto s = open();
  EXPECT_GE(s->count("col"), std::uint64_t(last + 1) * 10);
  for (int i = 0; i <= last; ++i)
    EXPECT_EQ(s->get("col", {"b" + std::to_string(i) + "-9"}).size(), 1u) << i;
}

TEST_P(faiss_store_test, uri_parameters_are_checked) {
  EXPECT_EQ(code_of([&] { open("&bogus=1"); }), errc::invalid_argument);
  EXPECT_EQ(code_of([&] { open("&m=x"); }), errc::invalid_argument);
  EXPECT_EQ(code_of([&] {
              make_faiss_store(
                  store_uri::parse("faiss://" + dir_ + "?index=ivf"), 0, 1);
            }),
            errc::invalid_argument);
  EXPECT_EQ(code_of([&] { open("&pool=2&timeout_ms=100&sync=full"); }),
            errc::ok);
}

TEST_P(faiss_store_test, shards_keep_their_own_directory) {
  faiss_store shard(store_uri::parse(uri()), 1, 3);
  EXPECT_EQ(shard.directory(), dir_ + "/shard-1-of-3");
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/shard-1-of-3/store.db"));
  shard.create_collection({"col", 2, metric::l2});
  EXPECT_TRUE(open()->list_collections().empty());
}

TEST_P(faiss_store_test, unusable_directory_is_unavailable) {
  std::ofstream(dir_ + "/file") << "x";
  try {
    make_faiss_store(store_uri::parse("faiss://" + dir_ + "/file/sub"), 0, 1);
    FAIL() << "opened a directory under a file";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::backend_unavailable);
    EXPECT_NE(e.message().find(dir_ + "/file/sub"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(index, faiss_store_test,
                         ::testing::Values("flat", "hnsw"));

}  // namespace
}  // namespace storage
