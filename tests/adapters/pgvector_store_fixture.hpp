// Helpers and the per-test collection fixture of pgvector_store_test.cpp.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/factories.hpp"
#include "messages/errors.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

namespace storage::pgtest {

inline std::unique_ptr<vector_backend> open(const std::string& extra = "") {
  auto uri = test::pgvector_uri();
  if (!extra.empty())
    uri += (uri.find('?') == std::string::npos ? "?" : "&") + extra;
  return make_pgvector_store(store_uri::parse(uri), 0, 1);
}

using test::code_of;

inline std::string unique_name(const std::string& stem) {
  static std::atomic<unsigned> n{0};
  return "pgt-" + stem + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(n++);
}

inline vector_record rec(std::string id, std::vector<float> e, metadata m = {},
                         std::optional<std::string> doc = std::nullopt) {
  return {std::move(id), std::move(e), std::move(m), std::move(doc)};
}

inline std::vector<std::string> ids_of(const std::vector<search_hit>& hits) {
  std::vector<std::string> out;
  for (auto& h : hits) out.push_back(h.id);
  return out;
}

// One collection per test, dropped afterwards.
class pgvector : public ::testing::Test {
 protected:
  std::string make(std::uint32_t dim, metric m = metric::l2,
                   const std::string& extra = "") {
    if (!extra.empty()) store = open(extra);
    name = unique_name(
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    name = name.substr(0, std::min<std::size_t>(name.size(), 63));
    EXPECT_TRUE(store->create_collection({name, dim, m}));
    return name;
  }
  void TearDown() override {
    if (!name.empty()) open()->drop_collection(name);
  }
  std::unique_ptr<vector_backend> store = open();
  std::string name;
};

}  // namespace storage::pgtest
