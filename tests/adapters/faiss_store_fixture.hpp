// The fixture and helpers of the faiss:// adapter tests: real files in a
// temporary directory, for both index kinds.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "adapters/factories.hpp"
#include "adapters/faiss/faiss_store.hpp"
#include "messages/distance.hpp"
#include "messages/errors.hpp"

namespace storage {
namespace faiss_testing {

inline std::string make_temp_dir() {
  char tmpl[] = "/tmp/faiss_store_test.XXXXXX";
  char* dir = mkdtemp(tmpl);
  if (!dir) throw std::runtime_error("mkdtemp failed");
  return dir;
}

inline vector_record rec(std::string id, std::vector<float> v, metadata m = {},
                         std::optional<std::string> doc = std::nullopt) {
  return vector_record{std::move(id), std::move(v), std::move(m),
                       std::move(doc)};
}

inline std::vector<float> random_vector(std::mt19937& rng, std::size_t dim) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(dim);
  for (auto& x : v) x = u(rng);
  return v;
}

inline errc code_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const store_error& e) {
    return e.code();
  }
  return errc::ok;
}

// The contract's answer, computed the slow and obvious way.
inline std::vector<std::pair<double, std::string>> reference(
    const std::vector<vector_record>& records, metric m,
    const std::vector<float>& q, std::size_t k, const filter* where) {
  std::vector<std::pair<double, std::string>> all;
  for (auto& r : records)
    if (!where || where->matches(r.metadata))
      all.emplace_back(distance(m, q, r.embedding), r.id);
  std::sort(all.begin(), all.end());
  if (all.size() > k) all.resize(k);
  return all;
}

// Parameterized by the index kind: "flat" or "hnsw".
class faiss_store_test : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { dir_ = make_temp_dir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string uri(const std::string& extra = "") const {
    return uri_at(dir_, extra);
  }
  std::string uri_at(const std::string& dir,
                     const std::string& extra = "") const {
    return "faiss://" + dir + "?index=" + GetParam() + extra;
  }
  std::unique_ptr<vector_backend> open(const std::string& extra = "") const {
    return make_faiss_store(store_uri::parse(uri(extra)), 0, 1);
  }

  std::string dir_;
};

}  // namespace faiss_testing
}  // namespace storage
