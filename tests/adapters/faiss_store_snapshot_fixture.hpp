// The fixture of the faiss:// snapshot and crash tests: a store object per
// open, the snapshot files, a crash-like child, the model the store must
// equal, and the log. Parameterized by index kind.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <sstream>

#include "adapters/faiss/faiss_store.hpp"
#include "adapters/faiss_store_fixture.hpp"
#include "adapters/faiss_store_steps.hpp"
#include "adapters/storage_log.hpp"

namespace storage::faiss_testing {

namespace fs = std::filesystem;

class faiss_snapshot_test : public faiss_store_test {
 protected:
  std::unique_ptr<faiss_store> open_store(const std::string& extra = "") {
    return std::make_unique<faiss_store>(store_uri::parse(uri(extra)), 0, 1);
  }

  void TearDown() override {
    for (auto& d : copies_) fs::remove_all(d);
    faiss_store_test::TearDown();
  }

  // A second store over a copy of this one's records, for comparing with
  // the store under test while it is open (a directory has one store at a
  // time): the database copied in one read transaction (VACUUM INTO), so
  // a write of the open store's threads cannot tear it, and with
  // `snapshots` the snapshot files.
  std::unique_ptr<faiss_store> open_copy(const std::string& extra,
                                         bool snapshots = false) {
    auto to = make_temp_dir();
    copies_.push_back(to);
    sqlite3* db = nullptr;
    auto sql = "VACUUM INTO '" + to + "/store.db'";
    bool copied =
        sqlite3_open((dir_ + "/store.db").c_str(), &db) == SQLITE_OK &&
        sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(db);
    if (!copied) throw std::runtime_error("cannot copy " + dir_);
    if (snapshots && fs::exists(dir_ + "/snapshots"))
      fs::copy(dir_ + "/snapshots", to + "/snapshots",
               fs::copy_options::recursive);
    return std::make_unique<faiss_store>(store_uri::parse(uri_at(to, extra)), 0,
                                         1);
  }

  // The snapshots in place (not the temporary files of one being written).
  std::vector<std::string> snapshot_files() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir_ + "/snapshots", ec))
      if (e.path().extension() == ".idx")
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string the_snapshot() const {
    auto files = snapshot_files();
    if (files.size() != 1)
      throw std::runtime_error("expected one snapshot, found " +
                               std::to_string(files.size()));
    return dir_ + "/snapshots/" + files[0];
  }

  // Runs `fn` in a child that then dies without closing anything, as a
  // crash would: no destructor runs, no snapshot is written at close. The
  // child must not start an OpenMP team (libgomp does not survive fork):
  // its hnsw batches stay under 256 records, which run single-threaded.
  static void crash_after(const std::function<void()>& fn) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        fn();
      } catch (...) {
        _exit(1);
      }
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }

  static model contents(vector_backend& s, const std::string& c) {
    model out;
    std::string after;
    for (;;) {
      auto page = s.scan(c, after, 500);
      for (auto& r : page.records) out[r.id] = r;
      if (page.next_cursor.empty()) return out;
      after = page.next_cursor;
    }
  }

  // Every live record is found by its own vector (l2, cosine), and no hit
  // is a record the model does not have; on flat the answers equal a
  // rebuild's. `s` is loaded first: the rebuild (snapshot=off) deletes the
  // snapshots it finds.
  void expect_index_matches(vector_backend& s, const std::string& c,
                            const model& m, metric mt) {
    search_request first;
    first.query = m.begin()->second.embedding;
    s.search(c, first);
    auto rebuilt = open_copy("&snapshot=off&exact_below=0");
    std::mt19937 rng(99);
    std::size_t checked = 0;
    for (auto& [id, r] : m) {
      if (checked++ % 7 != 0) continue;
      search_request req;
      req.query = r.embedding;
      req.k = 3;
      auto hits = s.search(c, req);
      ASSERT_FALSE(hits.empty()) << id;
      // Under ip a longer vector can beat the record itself.
      if (mt != metric::ip) {
        EXPECT_EQ(hits[0].id, id);
      }
      for (auto& h : hits) EXPECT_TRUE(m.count(h.id)) << "served " << h.id;
    }
    for (int i = 0; i < 10; ++i) {
      search_request req;
      req.query = random_vector(rng, m.begin()->second.embedding.size());
      req.k = 10;
      auto hits = s.search(c, req);
      for (auto& h : hits) EXPECT_TRUE(m.count(h.id)) << "served " << h.id;
      if (GetParam() != "flat") continue;
      auto want = rebuilt->search(c, req);
      ASSERT_EQ(hits.size(), want.size());
      for (std::size_t j = 0; j < hits.size(); ++j) {
        EXPECT_EQ(hits[j].id, want[j].id);
        EXPECT_EQ(hits[j].distance, want[j].distance);
      }
    }
  }

  static std::vector<vector_record> batch(const std::string& prefix, int n,
                                          std::size_t dim, std::mt19937& rng) {
    std::vector<vector_record> out;
    for (int i = 0; i < n; ++i)
      out.push_back(rec(prefix + std::to_string(i), random_vector(rng, dim),
                        {{"i", std::int64_t{i % 10}}},
                        "doc" + std::to_string(i)));
    return out;
  }

  // Creates "col" with `n` records named prefix0.. and closes the store,
  // which writes its snapshot; returns the records by id.
  model seed(metric mt, std::size_t dim, std::mt19937& rng,
             const std::string& prefix = "r", int n = 1500) {
    model m;
    auto records = batch(prefix, n, dim, rng);
    for (auto& r : records) m[r.id] = r;
    auto s = open_store();
    s->create_collection({"col", static_cast<std::uint32_t>(dim), mt});
    s->upsert("col", records);
    return m;
  }

 private:
  std::vector<std::string> copies_;
};

// Captures what the adapter logs, beside the "storage" logger's own sink.
class log_capture {
 public:
  log_capture()
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
    storage_log()->sinks().push_back(sink_);
  }
  ~log_capture() {
    auto& sinks = storage_log()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

}  // namespace storage::faiss_testing
