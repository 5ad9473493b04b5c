// faiss:// snapshots: written in the background and at close, loaded on
// open with only the later writes replayed, never reused across incarnations,
// and upgraded from a store that had none.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "adapters/faiss_store_snapshot_fixture.hpp"

namespace storage {
namespace {

using namespace faiss_testing;

TEST_P(faiss_snapshot_test, close_writes_a_snapshot_and_reopen_loads_it) {
  std::mt19937 rng(1);
  auto records = batch("r", 1500, 16, rng);
  search_request req;
  req.query = random_vector(rng, 16);
  req.k = 10;
  std::vector<search_hit> before;
  {
    auto s = open_store("&exact_below=0");
    s->create_collection({"col", 16, metric::l2});
    s->upsert("col", records);
    before = s->search("col", req);
    EXPECT_FALSE(s->last_load("col")->from_snapshot);
    EXPECT_TRUE(snapshot_files().empty());  // only at close: < snapshot_after
  }
  ASSERT_EQ(snapshot_files().size(), 1u);
  EXPECT_EQ(fs::path(the_snapshot()).extension(), ".idx");
  auto s = open_store("&exact_below=0");
  auto after = s->search("col", req);
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].id, before[i].id);
    EXPECT_EQ(after[i].distance, before[i].distance);
    EXPECT_EQ(after[i].metadata, before[i].metadata);
    EXPECT_EQ(after[i].document, before[i].document);
  }
  ASSERT_TRUE(s->last_load("col"));
  EXPECT_TRUE(s->last_load("col")->from_snapshot);
  EXPECT_EQ(s->last_load("col")->replayed, 0u);
  EXPECT_EQ(s->count("col"), 1500u);
}

TEST_P(faiss_snapshot_test, reopen_replays_only_the_writes_after_the_snapshot) {
  std::mt19937 rng(2);
  auto m = seed(metric::cosine, 12, rng);
  ASSERT_EQ(snapshot_files().size(), 1u);
  auto fresh = batch("n", 10, 12, rng);
  auto again = rec("r0", random_vector(rng, 12), {{"i", std::int64_t{42}}});
  crash_after([&] {
    auto s = open_store();
    s->upsert("col", fresh);
    s->remove("col", {"r0", "r1", "r2", "r3", "r4", "absent"});
    s->upsert("col", {again});
    s->remove_where("col", filter::eq("i", std::int64_t{7}));
  });
  for (auto& r : fresh) m[r.id] = r;
  for (auto id : {"r1", "r2", "r3", "r4"}) m.erase(id);
  m["r0"] = again;
  std::uint64_t sevens = 0;
  for (auto it = m.begin(); it != m.end();)
    if (it->second.metadata.count("i") &&
        it->second.metadata.at("i") == metadata_value(std::int64_t{7})) {
      it = m.erase(it);
      ++sevens;
    } else {
      ++it;
    }
  auto s = open_store("&exact_below=0");
  EXPECT_EQ(s->count("col"), m.size());  // loads nothing: from SQLite
  auto have = contents(*s, "col");
  ASSERT_EQ(have.size(), m.size());
  for (auto& [id, r] : m) EXPECT_EQ(have.at(id), r) << id;
  expect_index_matches(*s, "col", m, metric::cosine);
  auto how = s->last_load("col");
  ASSERT_TRUE(how);
  EXPECT_TRUE(how->from_snapshot);
  // Removed: r0-r4 and the sevens (n7 among them); rows written after the
  // snapshot and still there: the 9 other new ones and r0.
  EXPECT_EQ(how->replayed, 5u + sevens + 9u + 1u);
}

TEST_P(faiss_snapshot_test, background_snapshot_after_enough_writes) {
  std::mt19937 rng(3);
  auto s = open_store("&snapshot_after=500");
  s->create_collection({"col", 8, metric::l2});
  s->upsert("col", batch("r", 600, 8, rng));
  for (int i = 0; i < 500 && snapshot_files().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(snapshot_files().size(), 1u) << "no snapshot while open";
  // What a new process would load (a copy: one store per directory).
  auto other = open_copy("&snapshot_after=500", true);
  search_request req;
  req.query = random_vector(rng, 8);
  EXPECT_EQ(other->search("col", req).size(), 10u);
  EXPECT_TRUE(other->last_load("col")->from_snapshot);
  EXPECT_EQ(other->last_load("col")->replayed, 0u);
}

TEST_P(faiss_snapshot_test,
       a_recreated_collection_never_uses_the_old_snapshot) {
  std::mt19937 rng(5);
  seed(metric::l2, 8, rng, "old");
  auto old_file = the_snapshot();
  fs::copy_file(old_file, dir_ + "/saved.idx");
  auto fresh = batch("new", 200, 8, rng);
  crash_after([&] {
    auto s = open_store();
    s->drop_collection("col");
    s->create_collection({"col", 8, metric::l2});
    s->upsert("col", fresh);
  });
  EXPECT_TRUE(snapshot_files().empty());
  // As if the process had died between dropping and deleting the file.
  fs::copy_file(dir_ + "/saved.idx", old_file);
  auto s = open_store("&exact_below=0");
  EXPECT_FALSE(fs::exists(old_file)) << "an orphan snapshot was kept";
  model m;
  for (auto& r : fresh) m[r.id] = r;
  EXPECT_EQ(contents(*s, "col"), m);
  expect_index_matches(*s, "col", m, metric::l2);
  EXPECT_FALSE(s->last_load("col")->from_snapshot);
}

// A snapshot put back from a backup after a later one trimmed the removal
// log cannot learn what was removed in between: it is rebuilt, not loaded.
TEST_P(faiss_snapshot_test, a_snapshot_older_than_the_removal_log_is_rebuilt) {
  std::mt19937 rng(6);
  auto m = seed(metric::l2, 8, rng);
  auto old_file = the_snapshot();
  fs::copy_file(old_file, dir_ + "/saved.idx");
  {
    auto s = open_store();
    s->remove("col", {"r0", "r1", "r2"});
    auto more = batch("n", 1000, 8, rng);  // enough for a snapshot at close
    s->upsert("col", more);
    for (auto& r : more) m[r.id] = r;
  }  // the close writes a newer snapshot and trims the removal log
  ASSERT_NE(fs::last_write_time(old_file),
            fs::last_write_time(dir_ + "/saved.idx"));
  for (auto id : {"r0", "r1", "r2"}) m.erase(id);
  fs::copy_file(dir_ + "/saved.idx", old_file,
                fs::copy_options::overwrite_existing);
  auto s = open_store("&exact_below=0");
  EXPECT_EQ(contents(*s, "col"), m);
  search_request all;
  all.query = m.at("r3").embedding;
  all.k = static_cast<std::uint32_t>(m.size() + 10);
  auto hits = s->search("col", all);
  EXPECT_EQ(hits.size(), m.size());
  for (auto& h : hits) EXPECT_TRUE(m.count(h.id)) << "served removed " << h.id;
  ASSERT_TRUE(s->last_load("col"));
  EXPECT_FALSE(s->last_load("col")->from_snapshot);
}

TEST_P(faiss_snapshot_test, a_store_from_before_snapshots_is_upgraded) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/store.db").c_str(), &db), SQLITE_OK);
    const char* sql =
        "CREATE TABLE collections(name TEXT PRIMARY KEY, dimension INTEGER "
        "NOT NULL, metric TEXT NOT NULL) WITHOUT ROWID;"
        "CREATE TABLE records(collection TEXT NOT NULL, id TEXT NOT NULL, "
        "embedding BLOB NOT NULL, metadata TEXT NOT NULL, document TEXT, "
        "PRIMARY KEY(collection, id)) WITHOUT ROWID;"
        "INSERT INTO collections VALUES('col', 2, 'l2');"
        "INSERT INTO records VALUES('col', 'a', x'0000803f00000000', "
        "'{\"x\":1}', 'doc');";
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = open_store("&snapshot_after=1");
  search_request req;
  req.query = {1, 0};
  auto hits = s->search("col", req);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, "a");
  EXPECT_EQ(hits[0].document, std::optional<std::string>("doc"));
  s->upsert("col", {rec("b", {0, 1})});
  s->remove("col", {"a"});
  s.reset();
  auto again = open_store();
  EXPECT_EQ(again->search("col", req).size(), 1u);
  EXPECT_TRUE(again->last_load("col")->from_snapshot);
  EXPECT_EQ(again->get("col", {"b"}).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(index, faiss_snapshot_test,
                         ::testing::Values("flat", "hnsw"));

}  // namespace
}  // namespace storage
