// What was acknowledged survives a SIGKILL: a child process writes to
// faiss:// and sqlite:// through the runtime, the test kills it mid-run and
// reopens both stores.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "runtime/runtime.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

// Starts the writer with its stdout on a pipe; returns pid and read end.
std::pair<pid_t, FILE*> start_writer(const std::string& vec,
                                     const std::string& cache) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(DURABILITY_WRITER_PATH, DURABILITY_WRITER_PATH, vec.c_str(),
          cache.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  return {pid, fdopen(fds[0], "r")};
}

TEST(durability, acknowledged_writes_survive_sigkill) {
  auto dir = fresh_dir();
  auto vec = "faiss://" + dir + "/vectors";
  auto cache = "sqlite://" + dir + "/cache.db?namespace=dur";
  auto [pid, out] = start_writer(vec, cache);
  ASSERT_NE(out, nullptr);
  int last = -1, n = 0;
  while (last < 150 && std::fscanf(out, "%d", &n) == 1) last = n;
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  // Acks already in the pipe were written before the kill: they count too.
  while (std::fscanf(out, "%d", &n) == 1) last = n;
  std::fclose(out);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer should have been killed";
  ASSERT_GE(last, 150);

  runtime rt;
  auto vs = rt.open_vector(vec);
  auto kv = rt.open_cache(cache);
  EXPECT_GE(await(vs.count("durable")), std::uint64_t(last + 1));
  std::vector<std::string> ids;
  for (int i = 0; i <= last; ++i) ids.push_back("r" + std::to_string(i));
  auto got = await(vs.get("durable", ids));
  ASSERT_EQ(got.size(), ids.size());
  for (int i = 0; i <= last; ++i) {
    EXPECT_EQ(got[i].id, ids[i]);
    EXPECT_EQ(got[i].embedding, (std::vector<float>{float(i), 1, 2}));
    EXPECT_EQ(got[i].document, "doc " + ids[i]);
    EXPECT_EQ(await(kv.get("k" + std::to_string(i))), "v" + std::to_string(i));
  }
  // The reopened index answers searches over the recovered records.
  search_request q;
  q.query = {0, 1, 2};
  q.k = 1;
  auto hits = await(vs.search("durable", q));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, "r0");
}

}  // namespace
}  // namespace storage::test
