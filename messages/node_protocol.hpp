// What a serving node and its clients say to each other besides the store
// interfaces: the node's directory, published on the node's one port, hands
// out each served store's handle by name, and runs live migrations of its
// stores for a client that asks (storectl migrate --live --from caf://...).
// Secrets never cross: the directory names stores by redacted URI only.
//
// A client greets the directory first (nhello) with the protocol version
// it speaks, and the directory answers nothing else to a client node that
// has not, or that speaks another version: the form of what crosses (the
// records' codec, the batches, these structs) changes between versions
// without changing the message types' names, and CAF 0.17 would drop or
// misread such a message silently instead of failing it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor_control_block.hpp>
#include <caf/atom.hpp>
#include <caf/message.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/inspect.hpp"

namespace storage {

// The version of everything that crosses between a client and a node.
// 1: every version before the handshake, which does not greet; 2: the
// handshake, records as one packed string (record_codec.hpp); 3: requests
// carry their deadline (batched_message::deadline_us). Raise it with any
// change of what crosses.
constexpr std::uint32_t node_protocol_version = 3;

using nhello_atom = caf::atom_constant<caf::atom("nhello")>;
using nlookup_atom = caf::atom_constant<caf::atom("nlookup")>;
using nlist_atom = caf::atom_constant<caf::atom("nlist")>;
using nmigrate_atom = caf::atom_constant<caf::atom("nmigrate")>;
using nprogress_atom = caf::atom_constant<caf::atom("nprogress")>;
using nabort_atom = caf::atom_constant<caf::atom("nabort")>;
using nfinalize_atom = caf::atom_constant<caf::atom("nfinalize")>;
using nstats_atom = caf::atom_constant<caf::atom("nstats")>;
using nbatch_atom = caf::atom_constant<caf::atom("nbatch")>;

// A store the node serves, as the directory describes it.
struct served_store {
  std::string name;
  std::string kind;  // "vector" or "cache"
  std::string uri;   // redacted
};

template <class I>
typename I::result_type inspect(I& f, served_store& x) {
  return f(caf::meta::type_name("served_store"), x.name, x.kind, x.uri);
}

// A live migration's options, as a client asks for them.
struct live_request {
  std::string target;  // URI or a name of the node's config
  std::uint32_t batch = 500;
  bool verify = true;
};

template <class I>
typename I::result_type inspect(I& f, live_request& x) {
  return f(caf::meta::type_name("live_request"), x.target, x.batch, x.verify);
}

// A live migration's progress and, once it ended or cut over, its outcome
// (live_migration.hpp's live_progress and migration_result, flattened).
struct live_report {
  std::string state;  // to_string(live_state)
  std::string collection;
  std::uint64_t copied = 0;
  std::uint64_t verified = 0;
  std::uint64_t total = 0;
  bool finalized = false;
  bool mirroring_back = false;
  double cutover_ms = 0;
  double seconds = 0;
  // After cutover: the migration's result, summed over collections.
  bool has_result = false;
  std::uint64_t source_count = 0;
  std::uint64_t target_count = 0;
  bool result_verified = false;
  // When it failed: the error's code (errc) and message.
  std::uint8_t error_code = 0;
  std::string error;
  std::string target;  // redacted
};

template <class I>
typename I::result_type inspect(I& f, live_report& x) {
  return f(caf::meta::type_name("live_report"), x.state, x.collection, x.copied,
           x.verified, x.total, x.finalized, x.mirroring_back, x.cutover_ms,
           x.seconds, x.has_result, x.source_count, x.target_count,
           x.result_verified, x.error_code, x.error, x.target);
}

// What a client's connection and a serving node send each other in batches
// (remote_link.hpp, node_inbox.hpp): the requests that reached the
// connection while earlier ones were still on their way go as one message,
// and so do the replies that became ready while the node's middleman was
// busy -- one BASP frame, one read and one dispatch round instead of one
// each. An item is the message as it would have gone alone: a request with
// its sender (the caller's reply relay), or a reply with its receiver (that
// relay), and the request's id.
//
// A request also carries its deadline on the sender's wall clock, and a
// batch the time it left: a node that was frozen, or slow to read, finds
// how long a batch waited beyond the link's usual lag and does not start a
// request whose deadline passed meanwhile (node_inbox.cpp). Only the lag
// is compared, never the two clocks, so they need not agree.
struct batched_message {
  caf::strong_actor_ptr actor;  // a request's sender, a reply's receiver
  std::uint64_t id = 0;         // caf::message_id::integer_value()
  caf::message content;
  std::int64_t deadline_us = 0;  // a request's, µs since the epoch; 0: none
};

template <class I>
typename I::result_type inspect(I& f, batched_message& x) {
  return f(caf::meta::type_name("batched_message"), x.actor, x.id, x.content,
           x.deadline_us);
}

struct message_batch {
  std::vector<batched_message> items;
  std::int64_t sent_us = 0;  // when it left, µs since the epoch
};

template <class I>
typename I::result_type inspect(I& f, message_batch& x) {
  return f(caf::meta::type_name("message_batch"), x.items, x.sent_us);
}

// The wall clock as batches carry it: µs since the epoch.
inline std::int64_t wall_clock_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using node_directory_actor = caf::typed_actor<
    // The client's node_protocol_version -> the node's. `unsupported`
    // when they differ; until a client node has greeted, every other
    // message is answered with `unsupported` too.
    caf::replies_to<nhello_atom, std::uint32_t>::with<std::uint32_t>,
    // name -> (the store's handle, what it is). The handle also takes
    // (nbatch_atom, message_batch) from a connection's reply endpoint.
    caf::replies_to<nlookup_atom, std::string>::with<caf::strong_actor_ptr,
                                                     served_store>,
    caf::replies_to<nlist_atom>::with<std::vector<served_store>>,
    // Starts a live migration of the named store; conflict while one runs.
    caf::replies_to<nmigrate_atom, std::string,
                    live_request>::with<live_report>,
    caf::replies_to<nprogress_atom, std::string>::with<live_report>,
    caf::replies_to<nabort_atom, std::string>::with<live_report>,
    caf::replies_to<nfinalize_atom, std::string>::with<live_report>,
    // The store's figures (store_stats.hpp) as one JSON object.
    caf::replies_to<nstats_atom, std::string>::with<std::string>>;

}  // namespace storage
