// The vector suites' data: deterministic records and queries, and filling
// a collection once (a server keeps it between runs; a full collection with
// the expected count is reused).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "messages/records.hpp"

namespace storage::bench {

constexpr std::size_t search_records = 10000;
constexpr std::size_t upsert_batch = 100;
constexpr std::int64_t buckets = 10;  // bucket == 3 matches 10%

inline std::vector<float> random_vector(std::uint32_t dim, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> v(dim);
  for (auto& x : v) x = n(rng);
  return v;
}

inline vector_record make_record(std::string id, std::uint32_t dim,
                                 std::uint64_t seed, std::int64_t bucket) {
  vector_record r;
  r.id = std::move(id);
  r.embedding = random_vector(dim, seed);
  r.metadata["bucket"] = bucket;
  return r;
}

// Records [from, from + n) of the search collection.
inline std::vector<vector_record> search_batch(std::uint32_t dim,
                                               std::size_t from,
                                               std::size_t n) {
  std::vector<vector_record> out;
  for (std::size_t i = from; i < from + n && i < search_records; ++i)
    out.push_back(make_record("r" + std::to_string(i), dim, 1000003 + i,
                              static_cast<std::int64_t>(i) % buckets));
  return out;
}

// Ten distinct batches of 100 per caller; iteration i upserts batch i % 10,
// so the collection stays bounded and later rounds replace records. Ids
// start with `tag`: a run that must insert rather than replace (a server's
// upsert of an existing id costs several times an insert) passes one of its
// own.
inline std::vector<std::vector<vector_record>> upsert_batches(
    std::uint32_t dim, int thread, const std::string& tag = "") {
  std::vector<std::vector<vector_record>> out(10);
  for (std::size_t b = 0; b < out.size(); ++b)
    for (std::size_t j = 0; j < upsert_batch; ++j) {
      auto n = b * upsert_batch + j;
      out[b].push_back(make_record(
          "u" + tag + std::to_string(thread) + "-" + std::to_string(n), dim,
          (static_cast<std::uint64_t>(thread) << 20) + n,
          static_cast<std::int64_t>(n) % buckets));
    }
  return out;
}

inline const std::vector<std::vector<float>>& queries(std::uint32_t dim) {
  static std::mutex mtx;
  static std::map<std::uint32_t, std::vector<std::vector<float>>> all;
  std::lock_guard<std::mutex> g(mtx);
  auto& qs = all[dim];
  if (qs.empty())
    for (std::uint64_t i = 0; i < 64; ++i)
      qs.push_back(random_vector(dim, 7777 + i));
  return qs;
}

// Runs `fill` once per process for `key`; concurrent callers wait for it.
template <class Fill>
void once_per_process(const std::string& key, Fill fill) {
  static std::mutex mtx;
  static std::set<std::string> done;
  std::lock_guard<std::mutex> g(mtx);
  if (done.count(key)) return;
  fill();
  done.insert(key);
}

// Fills the search collection through `upsert(batch)` unless `count()`
// already shows it complete; `reset()` drops and recreates it first.
template <class Count, class Reset, class Upsert>
void fill_search_collection(std::uint32_t dim, Count count, Reset reset,
                            Upsert upsert) {
  if (count() == search_records) return;
  reset();
  for (std::size_t i = 0; i < search_records; i += 500)
    upsert(search_batch(dim, i, 500));
}

}  // namespace storage::bench
