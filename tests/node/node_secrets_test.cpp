// A serving node with stores whose passwords hold every character a URI
// gives a meaning to: the password crosses neither the wire (the directory
// lists stores by redacted URI, a live migration's report names its target
// redacted) nor the node's debug log, its ready line or a client's errors
// and progress lines.
#include <gtest/gtest.h>

#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "messages/node_protocol.hpp"
#include "runtime/runtime.hpp"
#include "support/odd_password.hpp"
#include "support/served_node.hpp"
#include "support/storectl_process.hpp"
#include "support/test_util.hpp"

namespace storage {
namespace {

using test::expect_hidden;

TEST(node_secrets, odd_passwords_cross_neither_the_wire_nor_the_log) {
  setenv("STORECTL_LOG", "debug", 1);
  auto pg = test::odd_pgvector_uri();
  auto source = test::odd_redis_uri("nodesec" + test::unique_token());
  auto target = test::odd_redis_uri("nodesec" + test::unique_token());
  ASSERT_FALSE(source.empty() || target.empty());
  test::served_node node({{"pg", pg}, {"cache", source}});
  expect_hidden(node.ready_line().dump(), "ready line");
  EXPECT_NE(node.ready_line().dump().find("***"), std::string::npos)
      << node.ready_line().dump();

  // The directory, asked over the wire as any client can.
  runtime rt;
  auto& sys = rt.system();
  auto dir = sys.middleman().remote_actor<node_directory_actor>("127.0.0.1",
                                                                node.port());
  ASSERT_TRUE(dir) << sys.render(dir.error());
  caf::scoped_actor self{sys};
  self->request(*dir, std::chrono::seconds(10), nhello_atom::value,
                node_protocol_version)
      .receive([](std::uint32_t) {},
               [&](caf::error& e) { FAIL() << sys.render(e); });
  std::vector<served_store> listed;
  self->request(*dir, std::chrono::seconds(10), nlist_atom::value)
      .receive([&](std::vector<served_store>& xs) { listed = std::move(xs); },
               [&](caf::error& e) { FAIL() << sys.render(e); });
  ASSERT_EQ(listed.size(), 2u);
  for (auto& s : listed) {
    expect_hidden(s.uri, "directory entry " + s.name);
    EXPECT_NE(s.uri.find("storage_odd:***@"), std::string::npos) << s.uri;
  }

  // The stores work through the node, and a client's error names the
  // store without its password.
  auto cache = node.uri("cache");
  auto r = test::storectl({"cache", "set", "--store", cache, "k", "v"});
  EXPECT_EQ(r.code, 0) << r.err;
  expect_hidden(r, "cache set");
  r = test::storectl({"vector", "count", "--store", node.uri("pg"),
                      "--collection", "no_such_collection_here"});
  EXPECT_NE(r.err.find("collection_not_found"), std::string::npos) << r.err;
  expect_hidden(r, "vector count");

  // A live migration the node runs: progress, report and its target.
  r = test::storectl({"migrate", "--live", "--from", cache, "--to", target});
  ASSERT_EQ(r.code, 0) << r.err << node.log();
  expect_hidden(r, "migrate --live");
  live_report report;
  self->request(*dir, std::chrono::seconds(10), nprogress_atom::value,
                std::string{"cache"})
      .receive([&](live_report& x) { report = std::move(x); },
               [&](caf::error& e) { FAIL() << sys.render(e); });
  expect_hidden(report.target, "live report");
  EXPECT_NE(report.target.find("***"), std::string::npos) << report.target;
  r = test::storectl({"migrate", "--live", "--from", cache, "--finalize"});
  EXPECT_EQ(r.code, 0) << r.err;
  expect_hidden(r, "migrate --finalize");

  // A target the node cannot reach: the refusal names it redacted.
  auto wrong = target;
  wrong.replace(wrong.find("Kq7x"), 4, "Xq7x");
  r = test::storectl({"migrate", "--live", "--from", cache, "--to", wrong});
  EXPECT_NE(r.code, 0);
  expect_hidden(r.err, "refused migration");

  expect_hidden(node.log(), "node log");
  EXPECT_NE(node.log().find("storage_odd:***@"), std::string::npos)
      << node.log();
  unsetenv("STORECTL_LOG");
  runtime cleanup;
  test::await(cleanup.open_cache(target).clear());
  test::await(cleanup.open_cache(source).clear());
}

}  // namespace
}  // namespace storage
