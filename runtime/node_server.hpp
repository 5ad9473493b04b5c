// Serving a runtime's stores to other nodes (storectl serve): every store of
// the config file's [stores] section is opened and a directory actor
// (node_protocol.hpp) is published on one port through CAF's middleman.
// Clients name a store as caf://host:port/name (remote_store.hpp) and get
// the store's own handle: a request from another node takes the same path
// as a local one, straight to a worker.
//
// Serving binds 127.0.0.1 unless told otherwise. Any other address needs TLS
// (node_options.hpp) unless `insecure` says plainly that it does not.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "messages/node_protocol.hpp"

namespace storage {

class runtime;

struct serve_options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 4242;  // 0: any free port
  bool insecure = false;      // allow a non-loopback bind without TLS
};

class node_server {
 public:
  // Opens the stores and publishes them. Throws store_error:
  // invalid_argument for a config without stores or a non-loopback bind
  // without TLS or `insecure`; backend_unavailable when the port cannot be
  // bound.
  node_server(runtime& rt, serve_options opts);
  ~node_server();
  node_server(const node_server&) = delete;
  node_server& operator=(const node_server&) = delete;

  std::uint16_t port() const;
  bool tls() const;
  const std::vector<served_store>& stores() const;

  // Closes the port, then waits until the requests in flight are answered
  // (at most the longest store deadline). Idempotent.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// True for 127.0.0.0/8, ::1 and localhost.
bool is_loopback(const std::string& address);

// `host` as a URI writes it: an IPv6 address in brackets (caf://[::1]:7/x).
std::string uri_host(const std::string& host);

// `host` as a resolver takes it: without the brackets a URI puts around an
// IPv6 address.
std::string bare_host(const std::string& host);

}  // namespace storage
