// Asking a serving node's directory about one of its stores, from outside:
// its figures (storectl stats --store caf://...), and its live migration
// (storectl migrate --live --from caf://host:port/name): the node runs it,
// since it sees every client's writes; remote_migration asks it to start,
// reports its progress and completes it. Its clients keep their handles
// throughout.
#pragma once

#include <chrono>
#include <string>

#include "messages/node_protocol.hpp"
#include "messages/store_stats.hpp"
#include "runtime/remote_store.hpp"

namespace storage {

class runtime;

// The directory of the node `spec` names (node_protocol.hpp), greeted;
// backend_unavailable, naming `op`, when the node cannot be reached,
// unsupported when it speaks another protocol version.
node_directory_actor connect_directory(runtime& rt,
                                       const remote_store_spec& spec,
                                       const char* op);

// What the store a node serves (`caf_uri`: caf://host:port/name) has done,
// as that node counts it (runtime::stats there).
store_stats remote_stats(runtime& rt, const std::string& caf_uri);

class remote_migration {
 public:
  // `caf_uri`: caf://host:port/name. Connects at once; backend_unavailable
  // (or timeout) when the node cannot be reached.
  remote_migration(runtime& rt, const std::string& caf_uri);

  // Starts moving the store to `req.target`; conflict while an earlier
  // live migration of the store runs or mirrors back.
  live_report start(const live_request& req);
  // invalid_argument when the node started none for this store.
  live_report progress();
  // Both wait until the node's store switched (live_migration.hpp).
  live_report abort();
  live_report finalize();

  const std::string& store() const { return name_; }

 private:
  template <class Atom, class... Ts>
  live_report ask(const char* op, std::chrono::milliseconds wait, Atom atom,
                  Ts... xs);

  runtime& rt_;
  std::string display_;
  std::string name_;
  std::chrono::milliseconds timeout_;
  node_directory_actor directory_;
};

}  // namespace storage
