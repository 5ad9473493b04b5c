// OpenBLAS as the embedded store wants it: kernels that match the CPU, and
// one thread per search (see faiss_store_math.hpp).
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

#include "adapters/faiss/faiss_store_math.hpp"
#include "adapters/storage_log.hpp"

namespace storage::faiss_detail {
namespace {

// What the constructor below found, for the log line at first use (no
// logger exists before main): the kernels OpenBLAS should run here when it
// ran older ones, and those it still runs if it could not be switched.
const char* wanted = nullptr;
const char* still_running = nullptr;

template <class F>
F blas_symbol(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}

const char* core_for_this_cpu() {
  __builtin_cpu_init();  // needed before main
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
      __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return "Haswell";
  return nullptr;
}

// Whether OpenBLAS runs kernels older than this CPU's vector unit. OpenBLAS
// 0.3.21 (Debian 12) does not know CPUs newer than itself: on one host of
// this VM it fell back to its Prescott (SSE3) kernels. On an AVX-512 CPU,
// Haswell's or Zen's (AVX2) kernels are the other way to fall short.
bool kernels_lag_the_cpu(const char* running, const char* best) {
  if (std::strcmp(running, "Prescott") == 0) return true;
  return std::strcmp(best, "SkylakeX") == 0 &&
         (std::strcmp(running, "Haswell") == 0 ||
          std::strcmp(running, "Zen") == 0);
}

// Batched flat search ran at 0.4-0.5x (Prescott) and 0.7-0.8x (Haswell) of
// the speed with SkylakeX's kernels on an AVX-512 CPU (BENCHMARKS.md). OpenBLAS
// picks its kernels as it loads, from OPENBLAS_CORETYPE when that is set. When
// it is not, pick again the way that variable would, through OpenBLAS's own
// gotoblas_dynamic_quit/init. This runs as the program loads, after
// OpenBLAS's own constructor and before main, when no thread can be inside
// BLAS yet. A program that loads this library with dlopen while its own
// threads use BLAS sets OPENBLAS_CORETYPE itself; then nothing here touches
// OpenBLAS.
__attribute__((constructor)) void choose_openblas_kernels() {
  if (std::getenv("OPENBLAS_CORETYPE")) return;
  auto corename = blas_symbol<char* (*)()>("openblas_get_corename");
  const char* best = core_for_this_cpu();
  if (!corename || !best || !kernels_lag_the_cpu(corename(), best)) return;
  auto quit = blas_symbol<void (*)()>("gotoblas_dynamic_quit");
  auto init = blas_symbol<void (*)()>("gotoblas_dynamic_init");
  if (quit && init && setenv("OPENBLAS_CORETYPE", best, 0) == 0) {
    quit();
    init();
    unsetenv("OPENBLAS_CORETYPE");
  }
  wanted = best;
  if (std::strcmp(corename(), best) != 0) still_running = corename();
}

}  // namespace

void use_one_blas_thread() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto set = blas_symbol<void (*)(int)>("openblas_set_num_threads");
    if (set && !std::getenv("OPENBLAS_NUM_THREADS")) set(1);
    if (!wanted) return;
    if (!still_running)
      storage_log()->info(
          "OpenBLAS had chosen kernels older than this CPU; switched it to "
          "its {} kernels (OPENBLAS_CORETYPE, when set, decides instead)",
          wanted);
    else
      storage_log()->warn(
          "OpenBLAS runs its {} kernels on this CPU and could not be "
          "switched; start the process with OPENBLAS_CORETYPE={} for faster "
          "batched search",
          still_running, wanted);
  });
}

}  // namespace storage::faiss_detail
