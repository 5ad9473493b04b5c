// faiss:// loading in the background: a load longer than a request's
// deadline answers `timeout` naming its progress and goes on; the store's
// other collections are served meanwhile; a store closed mid-load closes
// promptly and the next open goes on from what the load reached.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cctype>
#include <chrono>
#include <thread>

#include "adapters/faiss_store_snapshot_fixture.hpp"

namespace storage {
namespace {

using namespace faiss_testing;
using clock_type = std::chrono::steady_clock;

constexpr int n_records = 20000;
constexpr std::uint32_t dim = 32;
// A wide build beam makes the graph slow to build: a rebuild takes seconds.
const std::string slow_graph = "&ef_construction=256";

class faiss_load_test : public faiss_snapshot_test {
 protected:
  // Writes the records through a flat store without snapshots: SQLite holds
  // them and an hnsw open must rebuild its graph from there.
  model seed_in_sqlite(const std::string& collection) {
    std::mt19937 rng(7);
    auto flat = make_faiss_store(
        store_uri::parse("faiss://" + dir_ + "?index=flat&snapshot=off"), 0, 1);
    flat->create_collection({collection, dim, metric::l2});
    model m;
    for (int b = 0; b < n_records / 100; ++b) {
      auto records = batch("r" + std::to_string(b) + "-", 100, dim, rng);
      for (auto& r : records) m[r.id] = r;
      flat->upsert(collection, records);
    }
    return m;
  }

  // Overwrites record `id`'s stored embedding behind the store's back
  // (`blob`: little-endian floats in hex), as corruption would.
  void set_stored_embedding(const std::string& id, const std::string& blob) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/store.db").c_str(), &db), SQLITE_OK);
    auto sql = "UPDATE records SET embedding = x'" + blob + "' WHERE id = '" +
               id + "'";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }

  // How many records the timeout's message says the load has, or -1 if the
  // search answered.
  static long progress(faiss_store& s, const std::string& collection,
                       std::chrono::milliseconds budget, errc& code,
                       std::string& message) {
    search_request req;
    req.query = std::vector<float>(dim, 0.5f);
    s.set_deadline(clock_type::now() + budget);
    try {
      s.search(collection, req);
      code = errc::ok;
      return -1;
    } catch (const store_error& e) {
      code = e.code();
      message = e.what();
    }
    // "...: N of M records so far..." (std::regex trips GCC 12's
    // -Wmaybe-uninitialized under the sanitizers' -O1).
    auto of = message.find(" of ");
    auto digits = of;
    while (digits > 0 &&
           std::isdigit(static_cast<unsigned char>(message[digits - 1])))
      --digits;
    if (of == std::string::npos || digits == of) return -2;
    return std::stol(message.substr(digits, of - digits));
  }
};

TEST_P(faiss_load_test, a_long_load_times_out_goes_on_and_resumes_on_reopen) {
  auto m = seed_in_sqlite("big");
  std::mt19937 rng(8);
  {
    auto s = open_store(slow_graph);
    s->create_collection({"small", 4, metric::l2});
    s->upsert("small", batch("s", 10, 4, rng));
    errc code = errc::ok;
    std::string message;
    auto start = clock_type::now();
    long have =
        progress(*s, "big", std::chrono::milliseconds(150), code, message);
    auto waited = clock_type::now() - start;
    ASSERT_EQ(code, errc::timeout) << message;
    EXPECT_NE(message.find("still loading"), std::string::npos) << message;
    EXPECT_NE(message.find("rebuilding its index from SQLite"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("of " + std::to_string(n_records) + " records"),
              std::string::npos)
        << message;
    ASSERT_GE(have, 0) << message;
    // The answer came at the deadline, not after the load.
    EXPECT_LT(waited, std::chrono::seconds(3));

    // Meanwhile the store serves its other collection and reads SQLite.
    search_request small;
    small.query = random_vector(rng, 4);
    s->set_deadline(clock_type::now() + std::chrono::seconds(30));
    EXPECT_EQ(s->search("small", small).size(), 10u);
    EXPECT_EQ(s->count("big"), static_cast<std::uint64_t>(n_records));
    EXPECT_EQ(s->get("big", {"r0-0"}).size(), 1u);

    // The load goes on without requests; progress is reported as it grows.
    long later = have;
    for (int i = 0; i < 200 && later >= 0 && later < 2000; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      later = progress(*s, "big", std::chrono::milliseconds(1), code, message);
    }
    ASSERT_EQ(code, errc::timeout)
        << "the load finished before the test could close it mid-way; "
           "make the graph slower to build";
    ASSERT_GE(later, 2000) << message;
    ASSERT_LT(later, n_records) << message;
    start = clock_type::now();
    s.reset();
    // Closing stops the load within a step, saving what it reached.
    EXPECT_LT(clock_type::now() - start, std::chrono::seconds(10));
  }
  // big's partial load (small's 10 writes are too few to save at close).
  ASSERT_EQ(snapshot_files().size(), 1u);

  auto s = open_store(slow_graph);
  auto& store = *s;
  expect_index_matches(store, "big", m, metric::l2);
  auto how = store.last_load("big");
  ASSERT_TRUE(how);
  EXPECT_TRUE(how->from_snapshot);
  // Only what the first load had not reached was read.
  EXPECT_LE(how->replayed, static_cast<std::uint64_t>(n_records - 2000));
  EXPECT_EQ(store.count("big"), static_cast<std::uint64_t>(n_records));
}

TEST_P(faiss_load_test, a_collection_dropped_while_loading_is_gone) {
  seed_in_sqlite("big");
  std::mt19937 rng(9);
  auto s = open_store(slow_graph);
  errc code = errc::ok;
  std::string message;
  progress(*s, "big", std::chrono::milliseconds(50), code, message);
  ASSERT_EQ(code, errc::timeout) << message;
  EXPECT_TRUE(s->drop_collection("big"));
  s->create_collection({"big", dim, metric::l2});
  auto fresh = batch("new", 50, dim, rng);
  s->set_deadline(clock_type::time_point::max());
  s->upsert("big", fresh);
  model m;
  for (auto& r : fresh) m[r.id] = r;
  EXPECT_EQ(contents(*s, "big"), m);
  expect_index_matches(*s, "big", m, metric::l2);
  s.reset();
  // The old incarnation's load saved nothing at close (and 50 writes are
  // too few for the new one's).
  EXPECT_TRUE(snapshot_files().empty());
  auto again = open_store(slow_graph);
  EXPECT_EQ(contents(*again, "big"), m);
}

// A stored record the collection cannot hold fails the load with a clear
// error. Requests within the backoff that follows get the same error, saying
// when the load is tried again, rather than each starting it over; once the
// backoff has passed the next request loads again (here: the record was
// repaired meanwhile, so it succeeds).
TEST_P(faiss_load_test, a_failed_load_is_reported_and_retried_after_a_backoff) {
  {
    auto s = open_store();
    s->create_collection({"col", 2, metric::l2});
    s->upsert("col", {rec("a", {1, 0})});
  }
  for (auto& f : snapshot_files()) fs::remove(dir_ + "/snapshots/" + f);
  set_stored_embedding("a", "0000803f");  // one float in a 2-d collection
  auto s = open_store();
  search_request req;
  req.query = {1, 0};
  auto failure = [&] {
    try {
      s->search("col", req);
      ADD_FAILURE() << "a record of the wrong dimension was loaded";
      return std::string();
    } catch (const store_error& e) {
      EXPECT_EQ(e.code(), errc::internal);
      EXPECT_NE(std::string(e.what()).find("stored record 'a' has 1"),
                std::string::npos)
          << e.what();
      return std::string(e.what());
    }
  };
  EXPECT_EQ(failure().find("tried again"), std::string::npos);
  // The load failed (and its backoff began) before the error came back.
  auto failed_at = clock_type::now();
  // Repaired, but the backoff (1 s) has not passed: the same error, with
  // when the load runs again.
  set_stored_embedding("a", "0000803f00000000");
  auto again = failure();
  if (clock_type::now() - failed_at < std::chrono::milliseconds(500)) {
    EXPECT_NE(again.find("the load is tried again in"), std::string::npos)
        << again;
  }
  std::this_thread::sleep_until(failed_at + std::chrono::milliseconds(1100));
  auto hits = s->search("col", req);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, "a");
  EXPECT_EQ(s->count("col"), 1u);
}

// Updates and removals leave dead slots in an hnsw graph; once half are
// dead the graph is rebuilt in the background, and the writes made while it
// is built reach the new graph.
TEST_P(faiss_load_test, a_half_dead_graph_is_rebuilt_while_writes_go_on) {
  std::mt19937 rng(12);
  auto s = open_store(slow_graph);
  s->create_collection({"col", 16, metric::l2});
  model m;
  auto put = [&](std::vector<vector_record> records) {
    s->upsert("col", records);
    for (auto& r : records) m[r.id] = r;
  };
  put(batch("r", 6000, 16, rng));
  // 4000 updates: 4000 of 10000 slots dead; then 2000 removals: 6000.
  for (int b = 0; b < 4; ++b) {
    auto again = batch("r", 1000, 16, rng);
    for (auto& r : again)
      r.id = "r" + std::to_string(b * 1000 + std::stoi(r.id.substr(1)));
    put(again);
  }
  std::vector<std::string> gone;
  for (int i = 4000; i < 6000; ++i) gone.push_back("r" + std::to_string(i));
  EXPECT_EQ(s->remove("col", gone), 2000u);
  for (auto& id : gone) m.erase(id);
  EXPECT_EQ(s->last_load("col")->graph_rebuilds, 0u);
  // Writes go on while the new graph is built: new records, updates of old
  // ones, removals. Until a deadline, not a count of rounds: how long the
  // rebuild takes depends on the machine (2,000 rounds sometimes ended
  // first here).
  int round = 0;
  auto give_up = clock_type::now() + std::chrono::minutes(1);
  for (;
       clock_type::now() < give_up && s->last_load("col")->graph_rebuilds == 0;
       ++round) {
    auto fresh = batch("w" + std::to_string(round) + "-", 5, 16, rng);
    auto update = rec("r" + std::to_string(round % 4000),
                      random_vector(rng, 16), {{"round", std::int64_t{round}}});
    fresh.push_back(update);
    put(fresh);
    auto drop = "r" + std::to_string(3999 - round % 4000);
    if (drop != update.id) {
      s->remove("col", {drop});
      m.erase(drop);
    }
  }
  ASSERT_EQ(s->last_load("col")->graph_rebuilds, 1u)
      << "no rebuild after " << round << " rounds of writes";
  EXPECT_GT(round, 0) << "no write overlapped the rebuild";
  EXPECT_EQ(s->count("col"), m.size());
  EXPECT_EQ(contents(*s, "col"), m);
  expect_index_matches(*s, "col", m, metric::l2);
}

// A graph rebuild that fails (here on a stored record of the wrong
// dimension, which would otherwise overrun the new graph's row buffer) is
// logged and not started again by every write: the first write after the
// backoff (1 s) starts it again, and it fails the same way.
TEST_P(faiss_load_test, a_failed_graph_rebuild_backs_off_before_the_next) {
  using namespace std::chrono_literals;
  std::mt19937 rng(13);
  log_capture log;
  auto s = open_store();
  s->create_collection({"col", 16, metric::l2});
  s->upsert("col", {rec("a0", random_vector(rng, 16))});
  s->upsert("col", batch("r", 6000, 16, rng));
  set_stored_embedding("a0", "0000803f");
  // 4000 updates and 2000 removals: 6000 of 10001 slots dead.
  auto again = batch("r", 4000, 16, rng);
  s->upsert("col", again);
  std::vector<std::string> gone;
  for (int i = 4000; i < 6000; ++i) gone.push_back("r" + std::to_string(i));
  EXPECT_EQ(s->remove("col", gone), 2000u);
  const std::string failed = "rebuilding the graph of 'col' failed";
  auto failures = [&] {
    auto text = log.text();
    std::size_t n = 0;
    for (auto at = text.find(failed); at != std::string::npos;
         at = text.find(failed, at + 1))
      ++n;
    return n;
  };
  // Each write replaces a live record, so the share of dead slots that asks
  // for a rebuild only grows, however many writes this machine manages.
  int written = 0;
  auto write = [&] {
    s->upsert("col", {rec("r" + std::to_string(written++ % 4000),
                          random_vector(rng, 16))});
  };
  auto until = clock_type::now() + 30s;
  while (failures() == 0 && clock_type::now() < until) write();
  ASSERT_EQ(failures(), 1u) << log.text();
  EXPECT_NE(log.text().find("stored record 'a0' has 1 dimensions"),
            std::string::npos)
      << log.text();
  auto failed_at = clock_type::now();
  while (clock_type::now() - failed_at < 400ms) write();
  EXPECT_EQ(failures(), 1u) << written << " writes";
  std::this_thread::sleep_until(failed_at + 1100ms);
  until = clock_type::now() + 30s;
  while (failures() < 2 && clock_type::now() < until) write();
  EXPECT_EQ(failures(), 2u);
  EXPECT_EQ(s->last_load("col")->graph_rebuilds, 0u);
}

INSTANTIATE_TEST_SUITE_P(index, faiss_load_test, ::testing::Values("hnsw"));

}  // namespace
}  // namespace storage
