// Direct tests of the faiss:// adapter on real files, for both index kinds.
#include "adapters/faiss/faiss_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "adapters/faiss_store_fixture.hpp"

namespace storage {
namespace {

using namespace faiss_testing;

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

TEST_P(faiss_store_test, uri_parameters_are_checked) {
  EXPECT_EQ(code_of([&] { open("&bogus=1"); }), errc::invalid_argument);
  EXPECT_EQ(code_of([&] { open("&m=x"); }), errc::invalid_argument);
  EXPECT_EQ(code_of([&] {
              make_faiss_store(
                  store_uri::parse("faiss://" + dir_ + "?index=ivf"), 0, 1);
            }),
            errc::invalid_argument);
  EXPECT_EQ(code_of([&] { open("&snapshot=maybe"); }), errc::invalid_argument);
  EXPECT_EQ(code_of([&] { open("&snapshot_after=0"); }),
            errc::invalid_argument);
  EXPECT_EQ(code_of([&] {
              open(
                  "&pool=2&timeout_ms=100&sync=full&snapshot=off&"
                  "snapshot_after=5");
            }),
            errc::ok);
}

TEST_P(faiss_store_test, shards_keep_their_own_directory) {
  faiss_store shard(store_uri::parse(uri()), 1, 3);
  EXPECT_EQ(shard.directory(), dir_ + "/shard-1-of-3");
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/shard-1-of-3/store.db"));
  shard.create_collection({"col", 2, metric::l2});
  faiss_store sibling(store_uri::parse(uri()), 2, 3);
  EXPECT_TRUE(sibling.list_collections().empty());
  // The directory holds a store of 3 shards: one shard would see nothing.
  try {
    open();
    FAIL() << "opened a store of 3 shards as one";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::conflict) << e.what();
    EXPECT_NE(e.message().find("holds a store of 3 shards (pool=3)"),
              std::string::npos)
        << e.what();
  }
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

TEST_P(faiss_store_test, a_directory_has_one_store_at_a_time) {
  auto first = open();
  first->create_collection({"col", 2, metric::l2});
  first->upsert("col", {rec("a", {1, 2})});
  // Not as another shard count either: those shards would see nothing.
  EXPECT_THROW(faiss_store(store_uri::parse(uri()), 0, 2), store_error);
  // A store of this process that closes meanwhile is waited for.
  auto start = std::chrono::steady_clock::now();
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    first.reset();
  });
  auto second = open();
  closer.join();
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(250));
  EXPECT_EQ(second->count("col"), 1u);
  // One that stays open is not (after the 5 s wait: checked once).
  if (GetParam() != "flat") return;
  try {
    open();
    FAIL() << "a second store opened the directory";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::conflict) << e.what();
    EXPECT_NE(e.message().find("this process (pid " +
                               std::to_string(::getpid()) + ")"),
              std::string::npos)
        << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(index, faiss_store_test,
                         ::testing::Values("flat", "hnsw"));

}  // namespace
}  // namespace storage
