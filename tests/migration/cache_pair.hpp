// Two caches of one runtime, source and target, for the cache migration and
// verification tests: parameterized by direction (sqlite -> redis, ...),
// each on namespaces of its own, cleared and removed afterwards.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "migration/migration_support.hpp"

namespace storage::mig {

struct direction {
  std::string from;
  std::string to;
};

inline std::string cache_uri(const std::string& backend, const std::string& dir,
                             const std::string& ns) {
  if (backend == "memory") return "memory://?namespace=" + ns;
  if (backend == "sqlite") return "sqlite://" + dir + "/c.db?namespace=" + ns;
  return test::with_param(test::redis_uri(), "namespace=" + ns);
}

class cache_pair : public ::testing::TestWithParam<direction> {
 protected:
  void SetUp() override {
    dir_ = test::fresh_dir();
    auto token = test::unique_token();
    from_ = cache_uri(GetParam().from, dir_, "src" + token + "n");
    to_ = cache_uri(GetParam().to, dir_, "dst" + token + "n");
    rt_ = std::make_unique<runtime>();
    src_.emplace(rt_->open_cache(from_));
    dst_.emplace(rt_->open_cache(to_));
  }
  void TearDown() override {
    for (auto* s : {&src_, &dst_}) try {
        await((*s)->clear());
      } catch (const std::exception&) {
        // Best effort: the test already reported any failure.
      }
    src_.reset();
    dst_.reset();
    rt_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string dir_, from_, to_;
  std::unique_ptr<runtime> rt_;
  std::optional<cache_store> src_, dst_;
};

}  // namespace storage::mig
