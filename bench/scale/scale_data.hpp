// The faiss:// scale suite's data: 128-d records generated from their index,
// so any record or the whole set can be regenerated without storing it.
//   uniform:   every component uniform in [-1, 1] (the worst case for HNSW)
//   clustered: 1,000 Gaussian clusters (centres uniform in [-1, 1], sigma
//              0.1 per component); queries drawn the same way
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "messages/records.hpp"

namespace storage::bench::scale {

constexpr std::uint32_t dim = 128;
constexpr std::size_t clusters = 1000;

enum class dataset { uniform = 0, clustered = 1 };

inline const char* name(dataset d) {
  return d == dataset::uniform ? "uniform" : "clustered";
}

inline std::vector<float> centre(std::size_t c) {
  std::mt19937_64 rng(0xc0ffee + c);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(dim);
  for (auto& x : v) x = u(rng);
  return v;
}

// Record i (queries use seeds from 1 << 40 on, so they are not records).
inline std::vector<float> vector_of(dataset d, std::uint64_t seed) {
  std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ULL + 1);
  std::vector<float> v(dim);
  if (d == dataset::uniform) {
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (auto& x : v) x = u(rng);
  } else {
    static const std::vector<std::vector<float>> centres = [] {
      std::vector<std::vector<float>> out;
      for (std::size_t c = 0; c < clusters; ++c) out.push_back(centre(c));
      return out;
    }();
    auto& c = centres[rng() % clusters];
    std::normal_distribution<float> n(0.f, 0.1f);
    for (std::size_t i = 0; i < dim; ++i) v[i] = c[i] + n(rng);
  }
  return v;
}

inline std::vector<float> query_of(dataset d, std::size_t q) {
  return vector_of(d, (std::uint64_t{1} << 40) + q);
}

inline vector_record record_of(dataset d, std::uint64_t i) {
  vector_record r;
  r.id = "r" + std::to_string(i);
  r.embedding = vector_of(d, i);
  r.metadata["bucket"] = static_cast<std::int64_t>(i % 10);
  return r;
}

// Where the suite keeps its stores: $FAISS_SCALE_DIR or /var/tmp/faiss_scale.
inline std::string store_dir(dataset d, bool hnsw, std::size_t n) {
  const char* root = std::getenv("FAISS_SCALE_DIR");
  return std::string(root ? root : "/var/tmp/faiss_scale") + "/" + name(d) +
         (hnsw ? "-hnsw-" : "-flat-") + std::to_string(n);
}

inline std::string store_uri_of(dataset d, bool hnsw, std::size_t n,
                                const std::string& extra = "") {
  return "faiss://" + store_dir(d, hnsw, n) +
         (hnsw ? "?index=hnsw" : "?index=flat") + extra;
}

}  // namespace storage::bench::scale
