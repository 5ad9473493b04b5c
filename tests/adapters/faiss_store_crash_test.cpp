// faiss:// under crashes: writers SIGKILLed at any moment, torn and corrupt
// snapshots, a database older than its snapshot.
#include <gtest/gtest.h>

#include <fstream>

#include "adapters/faiss_store_snapshot_fixture.hpp"

namespace storage {
namespace {

using namespace faiss_testing;

TEST_P(faiss_snapshot_test, sigkill_at_any_moment_loses_nothing) {
  // Snapshots every ~5 steps, so kills land in writes, in snapshot copies,
  // syncs and renames alike.
  const std::string extra = "&snapshot_after=100&exact_below=0";
  {
    auto s = open_store(extra);
    s->create_collection({"col", 32, metric::l2});
  }
  model m;
  std::mt19937 when(7);
  int torn = 0;
  for (int round = 0; round < 12; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    // A fresh process, not a fork: libgomp's thread pool does not survive
    // fork, and hnsw writes use it.
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      dup2(fds[1], 3);  // not stdout: the adapter's log may go there
      auto u = uri(extra);
      auto r = std::to_string(round);
      execl(FAISS_SNAPSHOT_WRITER, FAISS_SNAPSHOT_WRITER, u.c_str(), r.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    int target = 20 + static_cast<int>(when() % 100), acked = -1, i = 0;
    while (acked < target && read(fds[0], &i, sizeof i) == sizeof i) acked = i;
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    // The writer ran ahead of our reading: its last acknowledgement is the
    // last number in the pipe.
    while (read(fds[0], &i, sizeof i) == sizeof i) acked = i;
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer failed in round " << round;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir_ + "/snapshots", ec))
      if (e.path().extension() == ".tmp") {
        ++torn;
        fs::remove(e.path(), ec);  // counted once; the store ignores it
      }
    for (int j = 0; j <= acked; ++j) model_step(m, step_for(round, j));
    // The step in flight is in SQLite entirely or not at all.
    model next = m;
    model_step(next, step_for(round, acked + 1));
    auto s = open_store(extra);
    auto have = contents(*s, "col");
    if (have != m) {
      ASSERT_EQ(have, next) << "round " << round << ": neither the acked "
                            << "state nor the one after the step in flight";
      m = next;
    }
    expect_index_matches(*s, "col", m, metric::l2);
  }
  std::cout << "[ info ] " << torn << " of 12 kills left a torn snapshot\n";
}

TEST_P(faiss_snapshot_test, corrupt_or_torn_snapshots_are_rebuilt_with_a_log) {
  std::mt19937 rng(4);
  auto m = seed(metric::ip, 16, rng);
  auto path = the_snapshot();
  auto size = fs::file_size(path);
  auto reopen_expecting = [&](const std::string& why) {
    log_capture log;
    {
      auto s = open_store("&exact_below=0");
      expect_index_matches(*s, "col", m, metric::ip);
      EXPECT_FALSE(s->last_load("col")->from_snapshot) << why;
    }
    EXPECT_NE(log.text().find("unusable (" + why), std::string::npos)
        << log.text();
    EXPECT_NE(log.text().find("'col'"), std::string::npos) << log.text();
    // The rebuilt state was saved again at close, and is good.
    auto s = open_store();
    EXPECT_EQ(contents(*s, "col"), m);
    search_request req;
    req.query = random_vector(rng, 16);
    s->search("col", req);
    EXPECT_TRUE(s->last_load("col")->from_snapshot) << why;
  };
  {  // one flipped byte in the middle
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(size / 2));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.write(&c, 1);
  }
  reopen_expecting("checksum mismatch");
  fs::resize_file(path, fs::file_size(path) / 2);
  reopen_expecting("truncated");
  // A torn temporary file beside a good snapshot is ignored, and replaced
  // by the next snapshot.
  std::ofstream(path + ".tmp") << "half a snapshot";
  {
    auto s = open_store();
    search_request req;
    req.query = random_vector(rng, 16);
    s->search("col", req);
    EXPECT_TRUE(s->last_load("col")->from_snapshot);
    s->upsert("col", batch("t", 1000, 16, rng));
  }
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_TRUE(fs::exists(path));
}

TEST_P(faiss_snapshot_test, a_snapshot_newer_than_the_database_is_not_used) {
  // After a power loss SQLite (sync=normal) may lack commits a snapshot saw.
  std::mt19937 rng(6);
  auto m = seed(metric::l2, 8, rng, "a");
  ASSERT_FALSE(fs::exists(dir_ + "/store.db-wal"));
  fs::copy_file(dir_ + "/store.db", dir_ + "/old.db");
  {
    auto s = open_store();
    s->upsert("col", batch("b", 1500, 8, rng));
  }
  fs::copy_file(dir_ + "/old.db", dir_ + "/store.db",
                fs::copy_options::overwrite_existing);
  log_capture log;
  auto s = open_store("&exact_below=0");
  expect_index_matches(*s, "col", m, metric::l2);
  EXPECT_EQ(contents(*s, "col"), m);
  EXPECT_FALSE(s->last_load("col")->from_snapshot);
  EXPECT_NE(log.text().find("newer than the database"), std::string::npos)
      << log.text();
}

TEST_P(faiss_snapshot_test, acknowledged_upserts_survive_sigkill) {
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

TEST_P(faiss_snapshot_test, reopen_finds_everything) {
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

INSTANTIATE_TEST_SUITE_P(index, faiss_snapshot_test,
                         ::testing::Values("flat", "hnsw"));

}  // namespace
}  // namespace storage
