// TLS between nodes: a throwaway CA made with the openssl command signs the
// node's and the good client's certificates; a second CA signs an
// impostor's. Only the client the node's CA vouches for gets through; the
// others get an error within their deadline, not a hang.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>

#include "messages/errors.hpp"
#include "runtime/runtime.hpp"
#include "support/served_node.hpp"
#include "support/storectl_process.hpp"
#include "support/test_util.hpp"

namespace storage {
namespace {

using test::fresh_dir;

void sh(const std::string& cmd) {
  ASSERT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd;
}

// ca.pem/ca.key, and NAME.pem/NAME.key signed by it, in `dir`.
void make_ca(const std::string& dir, const std::string& ca) {
  sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
     "-nodes -days 2 -subj /CN=" +
     ca + " -keyout " + dir + "/" + ca + ".key -out " + dir + "/" + ca +
     ".pem");
}

void make_cert(const std::string& dir, const std::string& ca,
               const std::string& name) {
  auto base = dir + "/" + name;
  sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
     "-subj /CN=" +
     name + " -keyout " + base + ".key -out " + base + ".csr");
  sh("openssl x509 -req -days 2 -in " + base + ".csr -CA " + dir + "/" + ca +
     ".pem -CAkey " + dir + "/" + ca + ".key -CAcreateserial -out " + base +
     ".pem");
}

class node_tls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_dir();
    make_ca(dir_, "ca");
    make_ca(dir_, "other_ca");
    make_cert(dir_, "ca", "node");
    make_cert(dir_, "ca", "client");
    make_cert(dir_, "other_ca", "impostor");
  }

  std::string openssl_section(const std::string& name) const {
    return "[openssl]\ncertificate=\"" + dir_ + "/" + name + ".pem\"\nkey=\"" +
           dir_ + "/" + name + ".key\"\ncafile=\"" + dir_ + "/ca.pem\"\n";
  }

  runtime_options client(const std::string& name, const std::string& ca) {
    runtime_options o;
    o.node.tls.certificate = dir_ + "/" + name + ".pem";
    o.node.tls.key = dir_ + "/" + name + ".key";
    o.node.tls.cafile = dir_ + "/" + ca + ".pem";
    return o;
  }

  std::string dir_;
};

TEST_F(node_tls, a_client_the_ca_vouches_for_gets_through) {
  test::served_node node({{"cache", "sqlite://" + dir_ + "/c.db"}},
                         openssl_section("node"));
  EXPECT_EQ(node.ready_line()["tls"], true);
  runtime rt(client("client", "ca"));
  auto cache = rt.open_cache(node.uri("cache"));
  test::await(cache.set("k", "over tls"));
  EXPECT_EQ(test::await(cache.get("k")),
            std::optional<std::string>("over tls"));
}

// Each refused client fails with backend_unavailable or timeout within its
// deadline, and the node keeps serving the good client afterwards.
TEST_F(node_tls, clients_without_a_good_certificate_are_refused) {
  test::served_node node({{"cache", "sqlite://" + dir_ + "/c.db"}},
                         openssl_section("node"));
  auto refused = [&](runtime_options o, const char* who) {
    runtime rt(std::move(o));
    auto cache = rt.open_cache(node.uri("cache") + "?timeout_ms=3000");
    auto start = std::chrono::steady_clock::now();
    try {
      test::await(cache.set("k", who));
      ADD_FAILURE() << who << " got through";
    } catch (const store_error& e) {
      EXPECT_TRUE(e.code() == errc::backend_unavailable ||
                  e.code() == errc::timeout)
          << who << ": " << e.what();
      if (e.code() == errc::backend_unavailable) {
        EXPECT_NE(std::string(e.what()).find("TLS"), std::string::npos)
            << who << " should hear why: " << e.what();
      }
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start,
              std::chrono::milliseconds(3000 + 1500))
        << who << " waited past its deadline";
  };
  refused(runtime_options{}, "a plain client");
  refused(client("impostor", "ca"), "a client of another CA");
  // A TLS client without a certificate of its own: CAF's OpenSSL module
  // then offers none, and the node requires one.
  runtime_options no_cert;
  no_cert.node.tls.cafile = dir_ + "/ca.pem";
  EXPECT_THROW(runtime{no_cert}, store_error)
      << "half-configured TLS is refused up front";

  runtime rt(client("client", "ca"));
  test::await(rt.open_cache(node.uri("cache")).set("still", "serving"));
}

// An encrypted key is loaded when the runtime starts, with the configured
// passphrase and never a prompt: without one, or with a wrong one, the
// runtime (and `storectl serve`) refuses at once, naming the key file.
// Before, a client prompted on the terminal past its deadline and a node
// started, then died at its first client.
TEST_F(node_tls, an_encrypted_key_needs_its_passphrase_up_front) {
  sh("openssl pkey -in " + dir_ + "/node.key -aes256 -passout pass:s3cret " +
     "-out " + dir_ + "/node_enc.key");
  auto with_key = [&](const std::string& passphrase) {
    auto o = client("node", "ca");
    o.node.tls.key = dir_ + "/node_enc.key";
    o.node.tls.passphrase = passphrase;
    return o;
  };
  for (std::string wrong : {"", "not-the-one"}) {
    try {
      runtime rt(with_key(wrong));
      ADD_FAILURE() << "started with passphrase '" << wrong << "'";
    } catch (const store_error& e) {
      EXPECT_EQ(e.code(), errc::invalid_argument) << e.what();
      EXPECT_NE(std::string(e.what()).find(dir_ + "/node_enc.key"),
                std::string::npos)
          << e.what();
      if (!wrong.empty()) {
        EXPECT_EQ(std::string(e.what()).find(wrong), std::string::npos);
      }
    }
  }
  { runtime rt(with_key("s3cret")); }
  auto cfg = dir_ + "/enc.ini";
  std::ofstream(cfg) << "[stores]\ncache=\"memory://\"\n[openssl]\n"
                     << "certificate=\"" << dir_ << "/node.pem\"\n"
                     << "key=\"" << dir_ << "/node_enc.key\"\n"
                     << "cafile=\"" << dir_ << "/ca.pem\"\n"
                     << "passphrase=\"wrong-one\"\n";
  auto serve = test::storectl({"serve", "--config", cfg, "--port", "0"});
  EXPECT_EQ(serve.code, 1) << serve.out << serve.err;
  // (after the warning that others may read a file holding a passphrase)
  EXPECT_NE(serve.err.find("storectl: error: invalid_argument: cannot load "
                           "the TLS key '" +
                           dir_ + "/node_enc.key'"),
            std::string::npos)
      << serve.err;
  EXPECT_EQ(serve.err.find("wrong-one"), std::string::npos) << serve.err;
}

// Also CAF's dotted spelling of the keys (openssl.certificate=...).
// A TLS node that accepts connections and never answers them (frozen):
// CAF 0.17.6's OpenSSL module would wait for such a handshake without a
// timeout, and the actor system's shutdown with it -- a storectl command
// against a frozen node printed nothing for over ten minutes. Calls end by
// their deadline, and so do ~runtime and storectl (tls_probe.hpp).
TEST_F(node_tls, a_frozen_node_holds_no_one_past_the_deadline) {
  test::served_node node({{"cache", "sqlite://" + dir_ + "/c.db"}},
                         openssl_section("node"));
  ASSERT_EQ(::kill(node.pid(), SIGSTOP), 0);
  struct resume {
    pid_t pid;
    ~resume() { ::kill(pid, SIGCONT); }
  } resumed{node.pid()};
  using clock = std::chrono::steady_clock;
  auto uri = node.uri("cache") + "?timeout_ms=2000";
  auto start = clock::now();
  {
    runtime rt(client("client", "ca"));
    auto cache = rt.open_cache(uri);
    try {
      test::await(cache.set("k", "v"));
      ADD_FAILURE() << "a frozen node answered";
    } catch (const store_error& e) {
      EXPECT_TRUE(e.code() == errc::backend_unavailable ||
                  e.code() == errc::timeout)
          << e.what();
    }
    EXPECT_LT(clock::now() - start, std::chrono::milliseconds(2000 + 1000));
  }
  EXPECT_LT(clock::now() - start, std::chrono::milliseconds(2000 + 3000))
      << "~runtime waited for the frozen node";

  auto cfg = dir_ + "/client.ini";
  std::ofstream(cfg) << openssl_section("client");
  start = clock::now();
  auto r =
      test::storectl({"cache", "get", "--config", cfg, "--store", uri, "k"});
  EXPECT_EQ(r.code, 1) << r.out;
  // Its deadline and the probe's wait end together: either may be first.
  EXPECT_TRUE(r.err.find("error: timeout") != std::string::npos ||
              r.err.find("did not answer the TLS handshake") !=
                  std::string::npos)
      << r.err;
  EXPECT_LT(clock::now() - start, std::chrono::milliseconds(2000 + 3000))
      << "storectl waited for the frozen node";

  // Thawed, the node serves the same client again.
  ::kill(node.pid(), SIGCONT);
  runtime rt(client("client", "ca"));
  auto cache = rt.open_cache(node.uri("cache"));
  test::await(cache.set("k", "thawed"));
  EXPECT_EQ(test::await(cache.get("k")), std::optional<std::string>("thawed"));
}

TEST_F(node_tls, non_loopback_bind_is_allowed_with_tls) {
  auto dotted = "[global]\nopenssl.certificate=\"" + dir_ +
                "/node.pem\"\nopenssl.key=\"" + dir_ +
                "/node.key\"\nopenssl.cafile=\"" + dir_ + "/ca.pem\"\n";
  test::served_node node({{"cache", "sqlite://" + dir_ + "/c.db"}}, dotted,
                         {"--bind", "0.0.0.0"});
  EXPECT_EQ(node.ready_line()["tls"], true);
  EXPECT_EQ(node.log().find("without TLS"), std::string::npos);
  runtime rt(client("client", "ca"));
  auto cache = rt.open_cache(node.uri("cache"));
  test::await(cache.set("k", "v"));
}

}  // namespace
}  // namespace storage
