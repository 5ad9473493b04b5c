// The runtime owns the actor system and every open store. Stores are named by
// a URI (see README) or by a name from the config file's [stores] section.
//
//   storage::runtime rt;
//   auto vs = rt.open_vector("faiss:///var/lib/app/vectors");
//   vs.create_collection({"docs", 384, storage::metric::cosine}).get();
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/store_stats.hpp"
#include "runtime/cache_store.hpp"
#include "runtime/live_migration.hpp"
#include "runtime/node_options.hpp"
#include "runtime/vector_store.hpp"

namespace storage {

struct runtime_options {
  // Scheduler threads; 0 = one per core.
  unsigned threads = 0;
  // A CAF-style config file; its [stores] section maps names to URIs.
  std::string config_file;
  // How long an idle scheduler thread polls before it starts sleeping: more
  // polling answers a blocked caller sooner and burns more CPU while idle.
  // 0 keeps CAF's default (see BENCHMARKS.md for the measured effect).
  std::size_t poll_attempts = 0;
  // Where live migrations keep their journal (migration_journal.hpp), so a
  // restarted process serves each store from the backend that holds its
  // data. Empty: default_state_dir() ($STORAGE_STATE_DIR, else
  // $XDG_STATE_HOME/storage-runtime, else ~/.local/state/storage-runtime,
  // else, without $HOME, /tmp/storage-runtime-state).
  std::string state_dir;
  // Talking to other nodes: caf:// stores and node_server (TLS, heartbeats).
  node_options node;
};

class runtime {
 public:
  explicit runtime(runtime_options opts = {});
  // Closes every store. Facade calls still waiting end at once with
  // backend_unavailable ("the runtime shut down"); a store handle
  // (vector_store, cache_store) may outlive the runtime, and its later calls
  // fail the same way. Returns once the requests already running (on a
  // worker, or on a caller's own thread) have ended: a server that stopped
  // answering holds it until their deadline (timeout_ms), no longer.
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Opens the store, or returns the one already open under that name or
  // URI. Throws store_error: invalid_argument for a bad URI or unknown name,
  // conflict for a faiss:// directory another store of this runtime serves
  // with other parameters, internal when the store's migration journal
  // cannot be read; an unreachable server (or node, for caf://host:port/name: a
  // store served by another node, see remote_store.hpp) is reported by the
  // first request, not here. A store whose live migration cut over in an
  // earlier process is served from the migration's target, and the log says so
  // (live_migration.hpp).
  vector_store open_vector(const std::string& uri_or_name);
  cache_store open_cache(const std::string& uri_or_name);

  // Points an open store at another backend of the same kind. Not for a
  // caf:// store (unsupported): the node that serves it owns its backend.
  // Requests in flight finish on the old backend; later ones go to the new one.
  // Callers keep their handles. Data is not copied (see migration for that).
  // Throws store_error: invalid_argument for a store that is not open or a
  // bad or other-kind URI; conflict while a live migration of the store
  // runs or mirrors back, or for a faiss:// directory another store of this
  // runtime serves; the store keeps its backend then.
  void swap(const std::string& uri_or_name, const std::string& new_uri);

  // Moves an open store (vector or cache) to `target_uri`, a backend of the
  // same kind, while callers keep using it: see live_migration.hpp. Returns
  // at once; the handle reports progress and the outcome. Throws store_error:
  // invalid_argument for a store that is not open, a target of the other
  // kind or a target holding the data the store serves from now
  // (data_identity); unsupported for a caf:// store; internal when its
  // journal cannot be read; conflict while an earlier live migration of the
  // store runs or mirrors back (finalize or abort it first); everything else
  // (an unreachable target, a conflict) fails the migration, not the call, and
  // never the store's callers.
  live_migration migrate_live(const std::string& uri_or_name,
                              const std::string& target_uri,
                              live_options opts = {});

  // The URI a name stands for (a URI stands for itself).
  std::string resolve(const std::string& uri_or_name) const;
  // The backend that holds the data of the store `uri_or_name` names, without
  // opening it: the one an open store serves from now, else the target of a
  // live migration of it that cut over in an earlier process (the journal),
  // else its own URI. A caf:// store: its URI (its node decides).
  std::string serves_from(const std::string& uri_or_name);
  // The names of the config file's [stores] section, sorted.
  std::vector<std::string> store_names() const;
  // The node options in effect (the config's [openssl] merged in).
  const node_options& node() const;
  // Requests admitted by the open local stores and not yet answered.
  std::size_t requests_in_flight() const;

  // What an open store has done since this process opened it: requests,
  // errors and latencies by operation, its pool, reconnects, respawns,
  // pipelined batches and its live migration (messages/store_stats.hpp).
  // Cheap (counters read, nothing asked of a backend). A caf:// store: the
  // figures of the node that serves it, asked over the network
  // (backend_unavailable if it cannot be reached); it need not be open
  // here. invalid_argument for a local store that is not open.
  store_stats stats(const std::string& uri_or_name);
  // Every open local store's, by name: what a metrics endpoint exposes.
  // Names are unique: of two stores whose URIs differ only in their
  // password (redacted alike), the second is named "URI (2)".
  std::vector<store_stats> stats();

  // The runtime's actor system, for actors of your own. CAF 0.17 gives a
  // thread that spawns with it (or makes a scoped_actor) a reference the
  // runtime's destructor waits for until that thread ends; the runtime's
  // own calls give none back to your threads (runtime/caf_thread_guard.hpp).
  // Destroy the runtime on such a thread, or call
  // caf::logger::set_current_actor_system(nullptr) there first.
  caf::actor_system& system();

 private:
  friend struct runtime_internals;  // the node server (runtime_internals.hpp)
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace storage
