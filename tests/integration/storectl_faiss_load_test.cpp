// `storectl vector search` on an hnsw collection whose graph must be rebuilt
// (no snapshot) and takes longer than the store's deadline: each process
// answers `timeout` with the load's progress and exits, keeping what its
// load reached; progress adds up across processes until one answers.
#include <gtest/gtest.h>

#include <cctype>
#include <random>
#include <sstream>

#include "support/sanitizers.hpp"
#include "support/storectl_process.hpp"

namespace storage::test {
namespace {

class StorectlFaissLoad : public ::testing::Test {
 protected:
  static constexpr int records = 20000;
  static constexpr int dims = 32;

  std::string dir() const { return dir_.path() + "/vectors"; }

  // Written through a flat store without snapshots: only SQLite has them.
  void seed() {
    auto flat = "faiss://" + dir() + "?index=flat&snapshot=off";
    auto r =
        storectl({"vector", "create", "--collection", "big", "--dim",
                  std::to_string(dims), "--metric", "l2", "--store", flat});
    ASSERT_EQ(r.code, 0) << r.err;
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::ostringstream lines;
    for (int i = 0; i < records; ++i) {
      lines << R"({"id":"r)" << i << R"(","embedding":[)";
      for (int d = 0; d < dims; ++d) lines << (d ? "," : "") << u(rng);
      lines << "]}\n";
    }
    r = storectl({"vector", "upsert", "--collection", "big", "--store", flat},
                 lines.str());
    ASSERT_EQ(r.code, 0) << r.err;
  }

  temp_dir dir_;
};

TEST_F(StorectlFaissLoad,
       a_rebuild_longer_than_the_deadline_adds_up_over_runs) {
  seed();
  // Reading the partial snapshot must fit the deadline, or no process gets
  // past it: instrumented, that read alone takes a few hundred ms.
  auto hnsw = "faiss://" + dir() +
              "?index=hnsw&ef_construction=256&timeout_ms=" +
              (instrumented ? "1500" : "300");
  std::string query = "[0.5";
  for (int d = 1; d < dims; ++d) query += ",0.5";
  query += "]";
  std::vector<long> progress;
  storectl_result r;
  // Each process adds at least the step it is in when it closes; the
  // bound is generous (about 15 attempts do it in the plain build).
  for (int attempt = 0; attempt < 400; ++attempt) {
    r = storectl({"vector", "search", "--collection", "big", "--vector", query,
                  "-k", "5", "--store", hnsw});
    if (r.code == 0) break;
    ASSERT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("storectl: error: timeout:"), std::string::npos)
        << r.err;
    // On a loaded machine a process may not get as far as the store before
    // its deadline: a plain timeout, which says nothing of progress.
    if (r.err.find("no reply before the deadline") != std::string::npos)
      continue;
    ASSERT_NE(r.err.find("is still loading into memory"), std::string::npos)
        << r.err;
    // "N of 20000 records so far", or "reading its snapshot" (no count yet).
    auto of = r.err.find(" of 20000");
    auto digits = of;
    while (digits != std::string::npos && digits > 0 &&
           std::isdigit(static_cast<unsigned char>(r.err[digits - 1])))
      --digits;
    if (of != std::string::npos && digits < of)
      progress.push_back(std::stol(r.err.substr(digits, of - digits)));
  }
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.lines().size(), 5u);
  // The first process could not rebuild it within its deadline, and no
  // process started over: each found at least what the one before it left.
  ASSERT_GE(progress.size(), 2u);
  for (std::size_t i = 1; i < progress.size(); ++i)
    EXPECT_GE(progress[i], progress[i - 1]) << "attempt " << i;
  EXPECT_GT(progress.back(), progress.front());
}

}  // namespace
}  // namespace storage::test
