// faiss:// and the process's OpenBLAS: kernels that match the CPU unless
// OPENBLAS_CORETYPE chose them, and one BLAS thread per search.
#include <dlfcn.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "adapters/factories.hpp"

extern char** environ;

namespace storage {
namespace {

template <class F>
F blas_symbol(const char* name) {
  auto f = reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
  EXPECT_NE(f, nullptr) << name << ": this process's BLAS is not OpenBLAS "
                        << "(scripts/install-deps.sh selects it)";
  return f;
}

std::string core_name() {
  auto corename = blas_symbol<char* (*)()>("openblas_get_corename");
  return corename ? corename() : "";
}

std::filesystem::path test_dir() {
  return std::filesystem::temp_directory_path() /
         ("storage-test-blas-" + std::to_string(getpid()));
}

void open_a_store() {
  make_faiss_store(store_uri::parse("faiss://" + test_dir().string()), 0, 1);
  std::filesystem::remove_all(test_dir());
}

bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

bool has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
}

// The kernels OpenBLAS 0.3.21 fell back to on CPUs newer than it here.
std::vector<std::string> too_old_for_this_cpu() {
  if (has_avx512()) return {"Prescott", "Haswell", "Zen"};
  if (has_avx2()) return {"Prescott"};
  return {};
}

// Run in two ways: as ctest runs it (OPENBLAS_CORETYPE unset, the adapter
// chooses), and by the test below with the variable set (it decides).
TEST(faiss_store_blas, kernels_follow_openblas_coretype_else_the_cpu) {
  open_a_store();
  auto core = core_name();
  ASSERT_FALSE(core.empty());
  if (const char* want = std::getenv("OPENBLAS_CORETYPE")) {
    EXPECT_EQ(strcasecmp(core.c_str(), want), 0)
        << "OPENBLAS_CORETYPE=" << want << " but OpenBLAS runs " << core;
    return;
  }
  for (const auto& old : too_old_for_this_cpu())
    EXPECT_NE(core, old) << "OpenBLAS runs kernels older than this CPU";
  if (!std::getenv("OPENBLAS_NUM_THREADS")) {
    auto threads = blas_symbol<int (*)()>("openblas_get_num_threads");
    ASSERT_NE(threads, nullptr);
    EXPECT_EQ(threads(), 1);
  }
}

TEST(faiss_store_blas, an_explicit_openblas_coretype_is_kept) {
  std::vector<std::string> env{"OPENBLAS_CORETYPE=Prescott"};
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "OPENBLAS_CORETYPE=", 18) != 0) env.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string self = std::filesystem::read_symlink("/proc/self/exe");
  std::string filter =
      "--gtest_filter=faiss_store_blas."
      "kernels_follow_openblas_coretype_else_the_cpu";
  char* argv[] = {self.data(), filter.data(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(
      posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, envp.data()), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "with OPENBLAS_CORETYPE=Prescott the child saw other kernels";
}

// OpenBLAS itself picks the right kernels on this host; the probe plays one
// that fell back to Prescott's before the adapter looked.
TEST(faiss_store_blas, kernels_older_than_the_cpu_are_switched) {
  std::string cmd = std::string("env -u OPENBLAS_CORETYPE ") +
                    FAISS_BLAS_PROBE + " " + test_dir().string();
  FILE* out = popen(cmd.c_str(), "r");
  ASSERT_NE(out, nullptr);
  char line[128] = {};
  bool got = std::fgets(line, sizeof line, out) != nullptr;
  int status = pclose(out);
  std::filesystem::remove_all(test_dir());
  ASSERT_TRUE(got) << cmd << " printed nothing";
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd;
  std::string core(line, std::strcspn(line, "\n"));
  const char* want = has_avx512() ? "SkylakeX"
                     : has_avx2() ? "Haswell"
                                  : "Prescott";
  EXPECT_EQ(core, want);
}

}  // namespace
}  // namespace storage
