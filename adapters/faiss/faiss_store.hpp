// The embedded vector store: records durable in SQLite, FAISS index derived.
//
//   faiss:///path/dir?index=flat|hnsw&m=32&ef_construction=64&ef_search=256
//                    &exact_below=10000&sync=normal|full
//                    &snapshot=on|off&snapshot_after=N
//
// - dir: created if missing. With shards > 1, shard i lives in
//   dir/shard-<i>-of-<n>; with one shard, in dir itself. A directory
//   holding a store of one shard count refuses another (conflict: its
//   records would be invisible). A relative path may be written as
//   faiss://relative/dir (relative to the process's working directory);
//   faiss://localhost/path/dir is /path/dir, as in a file URI.
// - index: flat (default, exact) or hnsw (faiss::IndexHNSWFlat, approximate).
// - m, ef_construction, ef_search: HNSW graph degree, build and search beam
//   width (ef_search is raised to the number of candidates asked for).
//   Recall@10 against the exact answer, 128-d, m=32, ef_construction=64
//   (BENCHMARKS.md, faiss_scale/hnsw_search):
//     clustered 100k: 0.97 at ef_search=32, 0.997 at 128
//     clustered 1M:   0.91 at 256 (default), 0.947 at 512, 0.962 at 1024
//     uniform 100k:   0.79 at 256, 0.91 at 512, 0.97 at 1024 — the worst
//                     case, where a flat scan is faster than that graph.
//   The graph builds at ~1k-7k records/s on clustered and a few hundred on
//   uniform random data (2 cores).
// - exact_below: a search over at most this many candidate records (the live
//   records, or those a `where` filter matches) is an exact brute-force scan
//   in double precision, so collections of a few thousand records get exact
//   answers on hnsw too. A filter matching under 10% of the collection is
//   scanned exactly as well, which is how a filtered search always returns
//   min(k, matching) hits.
// - sync: SQLite runs in WAL mode; `normal` (default) makes an acknowledged
//   batch survive a crash or SIGKILL of the process but not a power loss,
//   `full` syncs the WAL on every commit and survives power loss too.
// - snapshot, snapshot_after: see below; snapshot_after defaults to 10000
//   writes on hnsw (whose replay costs graph insertions) and 100000 on flat.
//
// The SQLite file (dir/store.db) is the truth. A collection is loaded into
// memory on its first upsert, remove, remove_where or search (get, scan and
// count read SQLite) and kept in step with every write; an hnsw write inserts
// into the graph at once, and a graph half of whose slots are dead (from
// updates and removals) is rebuilt in the background while the old one
// serves (faiss_store_rebuild.cpp).
//
// Loading runs on the store's loader thread in steps of ~0.25 s, between
// which the store's other collections are served. A request that needs the
// collection waits for it until its deadline (set_deadline: the store's
// timeout_ms), then fails with `timeout` saying how far the load got; the
// load goes on. A store closed mid-load saves what the load reached as a
// snapshot and the next open goes on from there (a rebuild of a large hnsw
// graph takes minutes); a load running long saves so every 30 s too. A
// load that fails (a stored record the collection cannot hold, an I/O
// error) answers its waiting requests with the error; until a backoff has
// passed (1 s, doubling with each failure in a row, at most 60 s) later
// requests get the same error, saying when the load is tried again,
// instead of each starting it over. Failed graph rebuilds back off alike.
//
// Each loaded collection is saved as a snapshot (faiss_store_snapshot.hpp)
// in the background once snapshot_after records were written or removed
// since the last one, and when the store closes once min(snapshot_after,
// 1000) were. Opening loads the snapshot and replays only the writes made
// after it; a stale, torn or corrupt snapshot is rebuilt from SQLite (with a
// warning in the log), and so is a missing one (without: a collection closed
// before its first snapshot has none), so a crash or SIGKILL at any moment
// loses nothing acknowledged and brings no removed record back. Writing a
// snapshot holds the store only while the state is copied into the page cache;
// syncing and renaming the file happen outside. snapshot=off neither reads
// nor writes snapshots, and deletes any it finds (it keeps no removal log,
// so they would go stale).
//
// One store at a time uses a directory: a second one, in this process or
// another, gets `conflict` naming the holder's pid until the first closes
// (faiss_dir_lock.hpp says why, and how long it waits for a store of its
// own process). Other processes use the store through a
// node (storectl serve, caf://).
//
// Memory: one copy of each vector (in the FAISS index's storage) plus ~75
// bytes per record, distinct metadata maps aside; hnsw adds ~8·m bytes per
// record for its graph (collection_state in faiss_store_index.hpp). Measured
// at 1M × 128-d: peak RSS 1.16× the raw vectors on flat, 1.69× on hnsw.
// While an hnsw graph is rebuilt the old one (half dead slots) and the new
// one (the live records) are both held: ~1.5× that collection's memory.
// Cosine vectors are kept normalized, so cosine distances are exact to the
// float precision of the unit vector (~1e-7), l2 and ip bit for bit.
// Searches may carry many queries (search_batch): one FAISS call, BLAS on
// flat from 20 queries; OpenBLAS is set to one thread (see
// faiss_store_math.hpp), and where it chose kernels older than the CPU (as
// 0.3.21 does on CPUs newer than itself) to the CPU's own, unless
// OPENBLAS_CORETYPE is set (openblas_setup.cpp).
// OpenMP: a search runs on the calling thread only (a per-query OpenMP team
// was 15x slower on a busy 2-core box); bulk index builds keep the default.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "adapters/faiss/faiss_turnstile.hpp"
#include "adapters/vector_backend.hpp"
#include "messages/store_uri.hpp"

namespace storage {

namespace faiss_detail {
class database;
class dir_lock;
class collection_state;
struct index_options;
}  // namespace faiss_detail

class faiss_store : public vector_backend {
 public:
  faiss_store(const store_uri& uri, std::uint32_t shard, std::uint32_t shards);
  ~faiss_store() override;

  vector_capabilities capabilities() const override;

  bool create_collection(const collection_spec& spec) override;
  bool drop_collection(const std::string& name) override;
  std::vector<collection_spec> list_collections() override;
  std::uint64_t upsert(const std::string& collection,
                       const std::vector<vector_record>& records) override;
  std::vector<vector_record> get(const std::string& collection,
                                 const std::vector<std::string>& ids) override;
  std::uint64_t remove(const std::string& collection,
                       const std::vector<std::string>& ids) override;
  std::uint64_t remove_where(const std::string& collection,
                             const filter& where) override;
  std::uint64_t count(const std::string& collection) override;
  std::vector<search_hit> search(const std::string& collection,
                                 const search_request& req) override;
  // One FAISS call for the whole batch (BLAS on flat from 20 queries on).
  std::vector<std::vector<search_hit>> search_batch(
      const std::string& collection, const batch_search_request& req) override;
  scan_page scan(const std::string& collection, const std::string& after,
                 std::uint32_t limit) override;
  // The collection is in memory and nothing holds or wants the store's
  // lock right now.
  bool searches_from_memory(const std::string& collection) override;
  // How long a request may wait for its collection to load.
  void set_deadline(std::chrono::steady_clock::time_point deadline) override {
    deadline_ = deadline;
  }

  // The directory this shard keeps its files in.
  const std::string& directory() const { return dir_; }

  // How a collection came into memory: from its snapshot and the writes
  // after it, or rebuilt from SQLite. Empty if it is not loaded.
  struct load_report {
    bool from_snapshot = false;
    std::uint64_t replayed = 0;        // records put or removed after loading
    double seconds = 0;                // from the first request to ready
    std::uint64_t graph_rebuilds = 0;  // dead slots dropped since (hnsw)
  };
  std::optional<load_report> last_load(const std::string& collection);

 private:
  struct collection_entry {
    collection_spec spec;
    std::uint64_t incarnation = 0;
  };
  struct loaded_collection {
    std::unique_ptr<faiss_detail::collection_state> state;
    load_report how;
    std::uint64_t unsaved = 0;  // records written or removed since a snapshot
    bool queued = false;        // waiting for the snapshot thread
    // The snapshot on disk is a partial load's: saved at close even when
    // few records changed, or the next open would redo the rest again.
    bool partial_on_disk = false;
  };

  struct load_job;  // a collection on its way into memory
  // A load or graph rebuild that failed, and when it may run again: after a
  // backoff that doubles with each failure in a row (1 s up to 60 s), so
  // stored data that cannot load does not make every request (or write)
  // start minutes of work over. A success, or a new incarnation of the
  // collection, forgets it.
  struct failed_work {
    std::uint64_t incarnation = 0;
    std::exception_ptr error;
    std::chrono::steady_clock::time_point retry_at;
    std::chrono::steady_clock::duration backoff{};
  };
  enum class step { more, done, gone };

  // Opens the database if it is not open (again after an I/O failure).
  faiss_detail::database& db();
  const collection_entry& entry_of(const std::string& name);
  const collection_spec& spec_of(const std::string& name) {
    return entry_of(name).spec;
  }
  // Forgets every loaded and loading collection (the database went away).
  void forget_states();
  // Counts writes towards the next snapshot, queueing one when due.
  void wrote(const std::string& name, std::uint64_t n);

  // faiss_store_load.cpp: loading collections in the background.
  // The in-memory state of a collection, loaded on first use: waits, with
  // mu_ (held by the caller) released, until the load is done or the
  // request's deadline passed.
  loaded_collection& loaded(const std::string& name);
  void loader_loop();
  // One step of `job` (reading the snapshot, or one chunk of rows); `lock`
  // holds mu_ and is released while FAISS works. `gone`: the collection
  // was dropped or the database reopened meanwhile.
  step advance(const std::string& name, load_job& job,
               std::unique_lock<std::mutex>& lock);
  void finish_load(const std::string& name, load_job& job);
  // After a failed step (job->failed): closes a broken database, or drops
  // the job, and records the failure in `failures`.
  void drop_failed(std::map<std::string, std::shared_ptr<load_job>>& jobs,
                   const std::string& name,
                   const std::shared_ptr<load_job>& job,
                   std::map<std::string, failed_work>& failures);
  // The failure of `name`'s current incarnation in `failures` whose backoff
  // has not passed yet, if any.
  const failed_work* backing_off(std::map<std::string, failed_work>& failures,
                                 const std::string& name);
  // An hnsw graph half of whose slots are dead is rebuilt by the loader from
  // SQLite while the old one serves; the writes made meanwhile (`touched`)
  // are applied to the new graph before it replaces the old.
  void start_graph_rebuild(const std::string& name);
  void advance_graph_rebuild(const std::string& name, load_job& job,
                             std::unique_lock<std::mutex>& lock);
  void touched(const std::string& name, const std::vector<std::string>& ids);
  // Saves what a load reached as a snapshot the next open goes on from.
  void save_partial(const std::string& name, load_job& job,
                    std::unique_lock<std::mutex>& lock);
  // At close: stops the loader and saves every unfinished load.
  void stop_loading();

  // faiss_store_persist.cpp: saving snapshots.
  // Saves a loaded collection's snapshot; `lock` holds mu_ and is released
  // while the file is synced.
  void save_snapshot(const std::string& name,
                     std::unique_lock<std::mutex>& lock);
  void snapshot_loop();
  void remove_orphan_snapshots();
  void drop_snapshot(std::uint64_t incarnation);
  void close_snapshots();

  // Runs `fn` under the store's lock, turning any failure into a store_error
  // naming `op` and the store; an I/O failure closes the database so a later
  // call reopens it.
  template <class F>
  auto guarded(const char* op, F&& fn) -> decltype(fn());

  std::string uri_;  // redacted
  std::string dir_;
  bool full_sync_ = false;
  bool snapshots_ = true;
  std::uint64_t snapshot_after_ = 0;
  std::unique_ptr<faiss_detail::index_options> opts_;
  // Taken with the first database open, held until the store is gone
  // (destroyed after db_): faiss_dir_lock.hpp.
  std::unique_ptr<faiss_detail::dir_lock> lock_;
  std::unique_ptr<faiss_detail::database> db_;
  std::map<std::string, collection_entry> catalogue_;
  std::map<std::string, loaded_collection> states_;  // ready to use
  std::map<std::string, std::shared_ptr<load_job>> loading_;
  std::map<std::string, std::shared_ptr<load_job>> rebuilding_;  // graphs
  std::map<std::string, failed_work> failed_loads_, failed_rebuilds_;
  std::chrono::steady_clock::time_point deadline_ =
      std::chrono::steady_clock::time_point::max();

  std::mutex mu_;  // every call, and the snapshot thread's access to state
  // The loader and the snapshotter take mu_ back ahead of callers.
  faiss_detail::turnstile turn_;
  std::condition_variable snapshot_wanted_;
  std::deque<std::string> snapshot_queue_;
  bool stopping_ = false;
  std::thread snapshotter_;  // started on the first snapshot due
  // Callers that wait hold mu_ through guarded()'s lock, out of reach of
  // the functions that wait: hence _any, on mu_ itself.
  std::condition_variable_any load_wanted_, load_finished_;
  std::thread loader_;  // started on the first load
};

}  // namespace storage
