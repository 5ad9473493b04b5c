// Plays an OpenBLAS that fell back to its Prescott kernels on a CPU it did
// not know (as 0.3.21 did on one host here), before the faiss adapter's own
// constructor looks; then opens a faiss:// store and prints the kernels
// OpenBLAS runs. Run by tests/adapters/faiss_store_blas_test.cpp.
#include <dlfcn.h>

#include <cstdlib>
#include <iostream>

#include "adapters/factories.hpp"

namespace {

// Priority 101 runs before every constructor without one, the adapter's
// included (both are in this executable).
__attribute__((constructor(101))) void fall_back_to_prescott() {
  auto quit = reinterpret_cast<void (*)()>(
      dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
  auto init = reinterpret_cast<void (*)()>(
      dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
  if (!quit || !init) return;
  setenv("OPENBLAS_CORETYPE", "Prescott", 1);
  quit();
  init();
  unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: faiss_blas_probe DIR\n";
    return 2;
  }
  storage::make_faiss_store(
      storage::store_uri::parse(std::string("faiss://") + argv[1]), 0, 1);
  auto corename = reinterpret_cast<char* (*)()>(
      dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  std::cout << (corename ? corename() : "no OpenBLAS") << "\n";
}
