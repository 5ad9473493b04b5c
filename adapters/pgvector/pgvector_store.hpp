// pgvector://user[:pw]@host:port/db — PostgreSQL + pgvector over one libpq
// connection.
//
// URI parameters (besides the runtime's pool, timeout_ms, max_inflight):
//   index=hnsw|none     index built by create_collection (default hnsw; a
//                       collection over 2000 dimensions gets none, pgvector's
//                       HNSW limit)
//   m=16                HNSW links per node (2..100)
//   ef_construction=64  HNSW build candidate list (>= 2*m, <= 1000)
//   ef_search=200       HNSW search candidate list, raised to k+10 per query
//                       (the rows an index search fetches; when they come
//                       up short, or end inside the k-th hit's tie, the
//                       search scans instead, so ties keep id order)
//   exact_below=10000   collections estimated below this many rows are
//                       searched exactly (sequential scan), so small
//                       collections never get approximate answers
//   timeout_ms=10000    statement_timeout on the server; the client gives up
//                       2 s later and drops the connection
//   build_memory_mb=1024  most maintenance_work_mem an index build asks for
//                       (below)
//
// Bulk loads (collection_spec::defer_index). A create_collection with the
// flag creates the table without its HNSW index: rows then load at COPY
// speed instead of ~730/s into a growing graph (PLATFORM-NOTES.md). A
// create_collection without the flag on a collection that lacks the index
// (and should have one: index=hnsw, at most 2000 dimensions), or
// build_index, builds it then with CREATE INDEX CONCURRENTLY, so writes
// through other connections go on during the build (a live migration's
// mirrors do), with maintenance_work_mem sized to hold the whole graph
// (rows x (4 x dimension + 48 x m + 32) bytes, measured: 1.3 kB per
// 128-d row at m=16; +25%, at least 64 MB, at most build_memory_mb; a larger
// server setting is kept), so pgvector never falls back to its slow on-disk
// build. The server's max_parallel_maintenance_workers applies. The build
// may take the whole deadline set_deadline gave (statement_timeout is
// raised for it alone): a request through a pool ends at timeout_ms (raise
// it for large collections), a live migration gives its own build at least
// an hour; past it the build fails with timeout, leaving the rows without
// index. A collection whose load stopped before its build (a killed
// migration) keeps searching correctly, by scanning every row: its first
// index search per connection logs a warning (unless another connection
// built the index since), and the next create_collection of it (which a
// migration rerun sends) builds the index. An interrupted build (also one
// that interrupt() cancelled on the server) leaves an invalid index behind;
// the next build drops it first. Builds of one table are serialized by an
// advisory lock (a second builder waits, then finds the index); neither
// reads nor writes wait for a build.
//
// Writes lock their rows in id order (upserts insert in id order, deletes
// lock what they delete in id order first), so connections writing shared
// ids wait for each other instead of deadlocking.
//
// Errors: a server that cannot be reached (or is lost) is backend_unavailable
// naming host:port; a wrong password, unknown role or unknown database is
// invalid_argument (a configuration error retrying cannot fix). Neither ever
// contains the password.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "adapters/open_deadline.hpp"
#include "adapters/vector_backend.hpp"
#include "messages/store_uri.hpp"

namespace storage {

namespace pgv {
class connection;
}

class pgvector_store final : public vector_backend {
 public:
  struct options {
    bool hnsw = true;
    int m = 16;
    int ef_construction = 64;
    int ef_search = 200;
    std::int64_t exact_below = 10000;
    int timeout_ms = 10000;
    std::int64_t build_memory_mb = 1024;
  };

  // Parses the URI and tries to connect (by `deadline`, see factories.hpp):
  // a login the server rejects throws invalid_argument here; an unreachable
  // server is retried on first use.
  explicit pgvector_store(const store_uri& uri,
                          open_deadline deadline = no_deadline);
  ~pgvector_store() override;

  vector_capabilities capabilities() const override;
  void set_deadline(std::chrono::steady_clock::time_point deadline) override;
  bool create_collection(const collection_spec& spec) override;
  bool build_index(const std::string& collection) override;
  void interrupt() override;
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
  // Each query gets the rows search() would get for it, in two or three
  // round trips for the whole batch: the size estimate, then one pipeline
  // holding each index search and one exact scan for all other queries,
  // then one exact scan for every query the index answered short.
  std::vector<std::vector<search_hit>> search_batch(
      const std::string& collection, const batch_search_request& req) override;
  scan_page scan(const std::string& collection, const std::string& after,
                 std::uint32_t limit) override;

 private:
  struct collection_info {
    collection_spec spec;
    std::string table;  // quoted identifier
    // Wants an HNSW index but had none when looked up (a bulk load whose
    // build has not run): searches warn once.
    bool index_missing = false;
    bool warned = false;
  };

  // Connects if needed and runs fn; retries once on a fresh connection when
  // an established one was lost, and once after refreshing the catalogue
  // cache when a collection's table vanished under it or its cached
  // dimension disagrees (another connection re-created it).
  template <class F>
  auto run(const char* op, F&& fn) -> decltype(fn());

  void connect();
  void bootstrap();
  collection_info lookup(const std::string& name);
  std::vector<search_hit> search_rows(const collection_info& c,
                                      const search_request& req);
  std::vector<std::vector<search_hit>> search_rows_batch(
      const collection_info& c, const batch_search_request& req);
  // Whether the collection should carry an HNSW index at all.
  bool wants_index(const collection_spec& spec) const;
  // CREATE INDEX for the collection's HNSW index (pgvector_store_index.cpp);
  // concurrently: beside writes, outside any transaction.
  std::string index_sql(const collection_info& c, bool concurrently) const;
  // Builds the HNSW index unless a valid one exists; true if it built one.
  // See the header comment.
  bool ensure_index(const collection_info& c);
  // Logs, once per collection, that an index search scans every row.
  void warn_if_unindexed(const std::string& name);
  // A cheap size estimate (no row count): small collections are searched
  // exactly, so they never get approximate answers.
  bool small_collection(const collection_info& c);
  // The hnsw.ef_search a search fetching `fetch` rows runs with.
  int ef_for(std::uint64_t fetch) const;

  store_uri uri_;
  options opt_;
  std::unique_ptr<pgv::connection> conn_;
  std::uint64_t bootstrapped_generation_ = 0;
  std::uint64_t stage_generation_ = 0;  // session owning the COPY stage
  int session_ef_ = 0;  // hnsw.ef_search currently set on the session
  std::map<std::string, collection_info> catalogue_;
};

}  // namespace storage
