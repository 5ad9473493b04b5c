// One store, however it is named: by the config file's name, by its URI and
// by another spelling of that URI. Two routers over one FAISS directory
// would each miss the other's writes.
#include <gtest/gtest.h>

#include <fstream>

#include "runtime/runtime.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

TEST(identity, every_name_of_a_store_reaches_the_same_store) {
  auto dir = fresh_dir();
  auto config = dir + "/app.conf";
  std::ofstream(config) << "[stores]\nvectors=\"faiss://" << dir
                        << "/v?index=flat&pool=1\"\n";
  runtime_options opts;
  opts.config_file = config;
  runtime rt(opts);
  auto by_name = rt.open_vector("vectors");
  auto by_uri = rt.open_vector("faiss://" + dir + "/v?pool=1&index=flat");
  auto by_other = rt.open_vector("faiss://" + dir + "/./v/?index=flat&pool=1");
  await(by_name.create_collection({"docs", 2, metric::l2}));
  // Each handle reads first, so a second router would have loaded the
  // collection before the write below.
  EXPECT_EQ(await(by_uri.count("docs")), 0u);
  EXPECT_EQ(await(by_other.count("docs")), 0u);
  await(by_name.upsert("docs", {{"a", {1, 0}, {}, std::nullopt}}));
  EXPECT_EQ(await(by_uri.count("docs")), 1u);
  EXPECT_EQ(await(by_other.count("docs")), 1u);
  EXPECT_EQ(await(by_other.search("docs",
                                  [] {
                                    search_request q;
                                    q.query = {1, 0};
                                    q.k = 1;
                                    return q;
                                  }()))
                .size(),
            1u);
}

}  // namespace
}  // namespace storage::test
