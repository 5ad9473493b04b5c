// The version handshake between a client and a node (node_protocol.hpp):
// a client that does not greet, or speaks another version, gets
// `unsupported` naming both versions instead of messages CAF would drop or
// misread; a node that does not greet (older than the handshake) or
// answers with another version fails the client's calls the same way.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "messages/caf_support.hpp"
#include "messages/node_protocol.hpp"
#include "runtime/runtime.hpp"
#include "support/served_node.hpp"
#include "support/storectl_process.hpp"
#include "support/test_util.hpp"

namespace storage {
namespace {

using test::fresh_dir;

class node_protocol : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ =
        std::make_unique<test::served_node>(std::map<std::string, std::string>{
            {"cache", "sqlite://" + fresh_dir() + "/c.db"}});
    auto d = rt_.system().middleman().remote_actor<node_directory_actor>(
        "127.0.0.1", node_->port());
    ASSERT_TRUE(d) << rt_.system().render(d.error());
    dir_ = *d;
  }

  // The error the directory answers `xs...` with. A greeting's reply fails
  // the test; any other reply comes back as CAF's unexpected_response
  // error (code internal), which the callers' checks for unsupported
  // reject.
  template <class... Ts>
  std::optional<store_error> refusal(Ts... xs) {
    caf::scoped_actor self{rt_.system()};
    std::optional<store_error> out;
    self->request(caf::actor_cast<caf::actor>(dir_), std::chrono::seconds(10),
                  xs...)
        .receive([](std::uint32_t) { ADD_FAILURE() << "greeted"; },
                 [&](caf::error& e) { out = from_caf_error(e, "", ""); });
    return out;
  }

  runtime rt_;
  std::unique_ptr<test::served_node> node_;
  node_directory_actor dir_;
};

TEST_F(node_protocol, a_client_that_does_not_greet_is_refused) {
  auto e = refusal(nlookup_atom::value, std::string("cache"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), errc::unsupported) << e->what();
  EXPECT_NE(e->message().find("did not greet"), std::string::npos) << e->what();
  EXPECT_NE(e->message().find("node protocol " +
                              std::to_string(node_protocol_version)),
            std::string::npos)
      << e->what();
  e = refusal(nlist_atom::value);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), errc::unsupported) << e->what();
  e = refusal(nstats_atom::value, std::string("cache"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), errc::unsupported) << e->what();
  // The node's operator learns of it, once per client process.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (node_->log().find("refused a client") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto log = node_->log();
  auto first = log.find("refused a client");
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_NE(log.find("did not greet", first), std::string::npos) << log;
  EXPECT_EQ(log.find("refused a client", first + 1), std::string::npos) << log;
}

TEST_F(node_protocol, a_client_of_another_version_is_refused) {
  auto e = refusal(nhello_atom::value, node_protocol_version + 1);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), errc::unsupported) << e->what();
  EXPECT_NE(
      e->message().find("client speaks node protocol " +
                        std::to_string(node_protocol_version + 1) +
                        ", this node " + std::to_string(node_protocol_version)),
      std::string::npos)
      << e->what();
  // A refused greeting opens nothing.
  e = refusal(nlookup_atom::value, std::string("cache"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), errc::unsupported) << e->what();
}

TEST_F(node_protocol, a_greeting_in_the_same_version_opens_the_directory) {
  caf::scoped_actor self{rt_.system()};
  std::uint32_t theirs = 0;
  self->request(dir_, std::chrono::seconds(10), nhello_atom::value,
                node_protocol_version)
      .receive([&](std::uint32_t v) { theirs = v; },
               [&](caf::error& e) { FAIL() << rt_.system().render(e); });
  EXPECT_EQ(theirs, node_protocol_version);
  self->request(dir_, std::chrono::seconds(10), nlookup_atom::value,
                std::string("cache"))
      .receive(
          [&](caf::strong_actor_ptr& h, served_store& s) {
            EXPECT_TRUE(h);
            EXPECT_EQ(s.name, "cache");
          },
          [&](caf::error& e) { ADD_FAILURE() << rt_.system().render(e); });
  self->request(dir_, std::chrono::seconds(10), nlist_atom::value)
      .receive([&](std::vector<served_store>& xs) { EXPECT_EQ(xs.size(), 1u); },
               [&](caf::error& e) { ADD_FAILURE() << rt_.system().render(e); });
  // The runtime's own caf:// handle greets by itself.
  auto cache = rt_.open_cache(node_->uri("cache"));
  test::await(cache.set("k", "v"));
  EXPECT_EQ(test::await(cache.get("k")), "v");
}

// A node as an older or newer storage_runtime would be: a directory,
// published through a middleman of its own process's kind, that does not
// understand the greeting (`hello_reply` 0) or answers it with
// `hello_reply`. It counts lookups, which must never come.
caf::behavior other_version_directory(std::shared_ptr<std::atomic<int>> lookups,
                                      std::uint32_t hello_reply) {
  auto on_lookup = [lookups](nlookup_atom, const std::string&) { ++*lookups; };
  if (hello_reply == 0) return {on_lookup};
  return {on_lookup,
          [hello_reply](nhello_atom, std::uint32_t) { return hello_reply; }};
}

struct other_version_node {
  explicit other_version_node(std::uint32_t hello_reply) {
    actor_ =
        host_.system().spawn(other_version_directory, lookups_, hello_reply);
    auto port = host_.system().middleman().publish(actor_, 0, "127.0.0.1");
    EXPECT_TRUE(port) << host_.system().render(port.error());
    port_ = port ? *port : 0;
  }
  ~other_version_node() { caf::anon_send_exit(actor_, caf::exit_reason::kill); }

  std::string uri() const {
    return "caf://127.0.0.1:" + std::to_string(port_) +
           "/cache?timeout_ms=5000";
  }

  runtime host_;
  caf::actor actor_;
  std::uint16_t port_ = 0;
  std::shared_ptr<std::atomic<int>> lookups_ =
      std::make_shared<std::atomic<int>>(0);
};

TEST(node_protocol_client, a_node_older_than_the_handshake_fails_calls) {
  other_version_node old(0);
  runtime rt;
  auto cache = rt.open_cache(old.uri());
  try {
    test::await(cache.get("k"));
    FAIL() << "a node without the handshake answered";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::unsupported) << e.what();
    EXPECT_NE(e.message().find("does not greet"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(
      test::fails_with(errc::unsupported, [&] { rt.stats(old.uri()); }));
  // storectl, a process of its own, says the same.
  auto r = test::storectl({"cache", "get", "--store", old.uri(), "k"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("unsupported"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("older than this client"), std::string::npos) << r.err;
  EXPECT_EQ(*old.lookups_, 0);
}

TEST(node_protocol_client, a_node_of_another_version_fails_calls) {
  other_version_node newer(node_protocol_version + 1);
  runtime rt;
  auto cache = rt.open_cache(newer.uri());
  try {
    test::await(cache.set("k", "v"));
    FAIL() << "a node of another version answered";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::unsupported) << e.what();
    EXPECT_NE(e.message().find("speaks node protocol " +
                               std::to_string(node_protocol_version + 1) +
                               ", this client " +
                               std::to_string(node_protocol_version)),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(*newer.lookups_, 0);
}

}  // namespace
}  // namespace storage
