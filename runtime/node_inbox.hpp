// What a serving node hands out as a store's handle (node_directory.hpp):
// an actor without a mailbox in front of the store's own handle, where a
// client connection's batches (node_protocol.hpp's message_batch) arrive in
// the middleman's thread.
//
// Each request of a batch goes to the store as if it had come alone, with a
// stand-in as its sender: one per client caller (per reply relay), so the
// store still sees each caller as a caller of its own and keeps that
// caller's order. The stand-ins hand the store's replies to an outbox per
// client connection (batch_outbox.hpp), which sends them back in batches to
// the connection's reply endpoint. Anything else sent to the handle goes on
// to the store as it came.
//
// A request keeps its client's deadline: one that passed before the
// request got here (the node was frozen, say) is answered `timeout` and
// never runs, and an earlier one than the store's own timeout_ms is the
// one the store keeps (node_protocol.hpp says how it crosses). `display`,
// the store's redacted URI, names the store in those errors.
#pragma once

#include <string>

#include <caf/fwd.hpp>

namespace storage {

caf::strong_actor_ptr spawn_node_inbox(caf::actor_system& sys,
                                       caf::strong_actor_ptr store,
                                       std::string display);

}  // namespace storage
