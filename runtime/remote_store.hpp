// A store served by another node (caf://host:port/name) behind a local
// handle that speaks the same typed interface as a local store, so callers
// cannot tell the difference.
//
// The handle is not an actor with a mailbox: like store_dispatcher, it
// takes each request in the caller's own thread and puts it into the
// connection's outbox, which the middleman's thread sends as soon as it gets
// to it -- the requests of all callers that arrived by then as one message
// (remote_link.hpp). The node's reply comes back through a relay (a tiny
// actor without a mailbox, one per caller) that hands it to the caller in
// the middleman's thread. Each caller has its own relay, so the node sees
// each caller as a caller of its own and keeps that caller's order while
// spreading different callers over its workers.
//
// Every request carries the store's deadline (the URI's timeout_ms, default
// 10000): the relay answers `timeout` when the node has not by then -- a
// request to a node that froze or dropped it would otherwise never end --
// and the node keeps it too: a request whose deadline passed before the
// node got to it never starts there (node_inbox.hpp). A
// connection that dies (the node was killed, the network dropped, BASP
// heartbeats stopped) fails every pending request at once with
// `backend_unavailable` (for a request already sent, its outcome is then
// unknown, as after a timeout: the node may still apply it within its
// deadline), and so is every new one until the node is back:
// the handle reconnects by itself with backoff (50 ms doubling to 1 s), and
// callers keep their handle throughout. Requests made while the first
// connection is being set up wait for it (within their deadline). A node
// that speaks another protocol version (node_protocol.hpp) fails them
// with `unsupported` naming both versions, and is retried the same way.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>

#include "messages/errors.hpp"
#include "runtime/backend_factory.hpp"

namespace storage {

struct remote_store_spec {
  std::string host;
  std::uint16_t port = 0;
  std::string name;  // the store's name on the node
  store_kind kind = store_kind::vector;
  std::chrono::milliseconds timeout{10000};
  bool tls = false;
  std::string display;  // the URI as errors name it (redacted)
};

// caf://host:port/name[?timeout_ms=N]; invalid_argument naming what is
// wrong otherwise.
remote_store_spec remote_spec_for(const std::string& uri, store_kind kind);

// A client greets a node's directory with its protocol version first
// (node_protocol.hpp). These are the errors its callers then see, both
// `unsupported`: the node answered with another version, or the greeting
// failed (`e`; a node older than the handshake does not understand it).
store_error protocol_mismatch(std::uint32_t theirs,
                              const remote_store_spec& spec,
                              const std::string& op);
store_error greeting_error(const caf::error& e, const remote_store_spec& spec,
                           const std::string& op);

class remote_link_state;

struct remote_store_handles {
  caf::strong_actor_ptr handle;
  std::shared_ptr<remote_link_state> state;
};

// What connects to and publishes on other nodes: CAF's OpenSSL manager with
// TLS, the middleman without.
caf::io::middleman_actor connection_manager(caf::actor_system& sys, bool tls);

// Spawns the handle and starts connecting.
remote_store_handles spawn_remote_store(caf::actor_system& sys,
                                        const remote_store_spec& spec);

// Fails what is pending with backend_unavailable and stops reconnecting.
void stop_remote_store(remote_store_handles& h);

}  // namespace storage
