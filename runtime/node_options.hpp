// How a runtime talks to other nodes (caf:// stores, storectl serve).
//
// TLS goes through CAF's OpenSSL module. It is on when a certificate, key or
// CA is configured, for both serving and connecting, and then verifies the
// peer both ways: each side needs a certificate signed by a CA the other
// trusts. A client without TLS settings speaks plain BASP and is refused by
// a TLS node (and the other way round).
//
// A node that freezes is only noticed through BASP heartbeats, which CAF
// 0.17 turns off by default: every runtime sends one per `heartbeat` and
// drops a connection silent for `connection_timeout`. Requests do not wait
// for that: each carries its store's deadline.
#pragma once

#include <chrono>
#include <string>

namespace storage {

struct tls_options {
  std::string certificate;  // PEM chain of this node
  std::string key;          // its private key (PEM)
  std::string cafile;       // CA certificates peers must be signed by
  std::string capath;       // or a directory of them
  std::string passphrase;   // of the key; a secret, never logged

  bool enabled() const {
    return !certificate.empty() || !key.empty() || !cafile.empty() ||
           !capath.empty();
  }
};

struct node_options {
  // Empty fields are filled from the config file's [openssl] section.
  tls_options tls;
  std::chrono::milliseconds heartbeat{500};
  std::chrono::milliseconds connection_timeout{3000};
};

}  // namespace storage
