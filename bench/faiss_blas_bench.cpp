// FAISS itself, without the storage layer: exact (flat) search over
// 100,000 x 128-d, to compare BLAS implementations. FAISS computes distances
// with BLAS sgemm only for a batch of at least 20 queries; single queries use
// its own scan. Run with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas to
// load the reference BLAS instead of OpenBLAS (see BENCHMARKS.md).
//
//   faiss_raw/flat_100k_128/<nq>    items/s = queries/s
#include <faiss/IndexFlat.h>

#include <random>

#include "bench/bench_util.hpp"

namespace storage::bench {

namespace {

constexpr int dim = 128;
constexpr faiss::Index::idx_t rows = 100000;

const faiss::IndexFlatL2& index_100k() {
  static const faiss::IndexFlatL2 index = [] {
    faiss::IndexFlatL2 ix(dim);
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    std::vector<float> data(static_cast<std::size_t>(rows) * dim);
    for (auto& x : data) x = u(rng);
    ix.add(rows, data.data());
    return ix;
  }();
  return index;
}

void flat_search(benchmark::State& state) {
  auto nq = static_cast<faiss::Index::idx_t>(state.range(0));
  const auto& ix = index_100k();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> q(static_cast<std::size_t>(nq) * dim);
  for (auto& x : q) x = u(rng);
  constexpr faiss::Index::idx_t k = 10;
  std::vector<float> dist(static_cast<std::size_t>(nq * k));
  std::vector<faiss::Index::idx_t> labels(static_cast<std::size_t>(nq * k));
  for (auto _ : state) ix.search(nq, q.data(), k, dist.data(), labels.data());
  state.SetItemsProcessed(state.iterations() * nq);
}

[[maybe_unused]] const int registered = [] {
  benchmark::RegisterBenchmark("faiss_raw/flat_100k_128", flat_search)
      ->ArgName("nq")
      ->Arg(1)
      ->Arg(64)
      ->UseRealTime()
      ->MinTime(2.0);
  return 0;
}();

}  // namespace

}  // namespace storage::bench
