// A faiss:// directory has one store at a time (faiss_dir_lock.hpp): a
// second process gets `conflict` naming the process that holds it, as
// long as that one does, and nothing of the first store's is touched.
#include <gtest/gtest.h>

#include <unistd.h>

#include "runtime/runtime.hpp"
#include "support/storectl_process.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

TEST(faiss_dir_owner, a_second_process_is_refused_while_the_first_holds_it) {
  auto uri = "faiss://" + fresh_dir() + "/vectors";
  std::vector<std::string> count = {"vector", "count",        "--store",
                                    uri,      "--collection", "docs"};
  {
    runtime rt;
    auto vs = rt.open_vector(uri);
    await(vs.create_collection({"docs", 2, metric::l2}));
    await(vs.upsert("docs", {{"a", {1, 2}, {}, {}}}));
    auto r = storectl(count);
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("conflict"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("process " + std::to_string(::getpid())),
              std::string::npos)
        << r.err;
    r = storectl({"vector", "upsert", "--store", uri, "--collection", "docs"},
                 "{\"id\":\"b\",\"embedding\":[3,4]}\n");
    EXPECT_NE(r.code, 0) << r.out;
    EXPECT_EQ(await(vs.count("docs")), 1u);
  }
  // Closed with its runtime: the next process opens it and finds its data.
  auto r = storectl(count);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.line().value("count", -1), 1) << r.out;
}

}  // namespace
}  // namespace storage::test
