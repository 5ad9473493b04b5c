// Small numeric helpers shared by faiss_store's index and search code.
// Private to the faiss_store library.
#pragma once

#include <faiss/Index.h>
#include <faiss/impl/IDSelector.h>
#include <omp.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace storage::faiss_detail {

struct mask_selector : faiss::IDSelector {
  explicit mask_selector(const std::vector<std::uint8_t>& m) : mask(m) {}
  bool is_member(faiss::Index::idx_t id) const override {
    return id >= 0 && static_cast<std::size_t>(id) < mask.size() &&
           mask[static_cast<std::size_t>(id)] != 0;
  }
  const std::vector<std::uint8_t>& mask;
};

inline double squared_norm(const float* v, std::size_t dim) {
  double n = 0;
  for (std::size_t i = 0; i < dim; ++i) {
    double x = v[i];
    n += x * x;
  }
  return n;
}

// Cosine runs on inner product over unit vectors; a zero vector stays zero,
// which scores it orthogonal to everything, as storage::distance does.
inline void normalize(float* v, std::size_t dim) {
  double n = std::sqrt(squared_norm(v, dim));
  if (n == 0) return;
  for (std::size_t i = 0; i < dim; ++i)
    v[i] = static_cast<float>(static_cast<double>(v[i]) / n);
}

// Searches run on the calling thread: an OpenMP team per query (HNSW opens
// one even for a single query) measured 15x slower on a busy 2-core machine,
// its spinning threads starving the runtime's workers. The setting is the
// calling thread's own and is restored on return.
class single_threaded {
 public:
  single_threaded() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~single_threaded() { omp_set_num_threads(saved_); }
  single_threaded(const single_threaded&) = delete;
  single_threaded& operator=(const single_threaded&) = delete;

 private:
  int saved_;
};

// OpenBLAS's own thread team on top of the runtime's threads collapsed
// batched search below the reference BLAS here (BENCHMARKS.md): unless
// OPENBLAS_NUM_THREADS says otherwise, the process's OpenBLAS (if that is
// the BLAS in use) runs on the calling thread. Process-wide, once; also
// logs the kernels OpenBLAS was switched to when it loaded
// (openblas_setup.cpp).
void use_one_blas_thread();

}  // namespace storage::faiss_detail
