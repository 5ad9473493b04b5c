// A vector store over ONE connection: plain synchronous C++, no actors. The
// runtime gives each pool worker its own instance. Every method throws
// store_error on failure; a backend that cannot be reached throws
// backend_unavailable and reconnects on a later call by itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "messages/records.hpp"

namespace storage {

// Honest differences between backends, for the runtime and the tests.
struct vector_capabilities {
  // State lives in this process (faiss://): pool workers are shards, not
  // interchangeable connections.
  bool in_process = false;
  // The index answers approximately (hnsw); exact on small collections.
  bool approximate = false;
};

class vector_backend {
 public:
  virtual ~vector_backend() = default;

  virtual vector_capabilities capabilities() const = 0;

  // The deadline of the request about to run: the adapter's own waits (a
  // socket read, a busy SQLite lock, an HTTP exchange) end by then with
  // timeout. Called before every request; an adapter that never waits
  // ignores it.
  virtual void set_deadline(std::chrono::steady_clock::time_point) {}

  // True if created, false if it already existed with the same spec; throws
  // conflict if it exists with another dimension or metric.
  // spec.defer_index (a bulk load follows): an adapter whose approximate
  // index is slow to grow row by row may create the collection without it;
  // then a create_collection without the flag builds the missing index and
  // returns false. Adapters whose index grows cheaply ignore the flag.
  virtual bool create_collection(const collection_spec& spec) = 0;
  // Builds the index a defer_index create left out, on an existing
  // collection only (collection_not_found otherwise: a build must never
  // re-create a collection dropped meanwhile). True if it built one. Writes
  // through other connections go on during the build where the backend
  // allows it (pgvector: CREATE INDEX CONCURRENTLY), which is why a live
  // migration builds on an adapter of its own. The default has nothing to
  // build.
  virtual bool build_index(const std::string& collection);
  // Called from another thread while a request may be running (a live
  // migration aborted during its index build): the request in progress and
  // every later one fail soon with conflict, and the server stops the work
  // (pgvector cancels the statement). The adapter is then discarded. The
  // default does nothing: its requests end at their deadlines.
  virtual void interrupt() {}
  // Whether a search of `collection` would run now from memory, waiting for
  // neither a load nor a lock: a CAF scheduler thread may then run it
  // (actors/pool/inline_policy.hpp). The default: never.
  virtual bool searches_from_memory(const std::string& collection);
  // True if it existed. A missing collection is not an error.
  virtual bool drop_collection(const std::string& name) = 0;
  virtual std::vector<collection_spec> list_collections() = 0;

  // Callers pass batches already checked by validate_batch (ids unique and
  // non-empty, finite, one length). The adapter checks the length against
  // the collection (dimension_mismatch) before writing anything, and writes
  // the batch atomically. Returns the number of records written.
  virtual std::uint64_t upsert(const std::string& collection,
                               const std::vector<vector_record>& records) = 0;
  // Only the records found, in the order of `ids`.
  virtual std::vector<vector_record> get(
      const std::string& collection, const std::vector<std::string>& ids) = 0;
  // Returns how many existed and were removed.
  virtual std::uint64_t remove(const std::string& collection,
                               const std::vector<std::string>& ids) = 0;
  virtual std::uint64_t remove_where(const std::string& collection,
                                     const filter& where) = 0;
  virtual std::uint64_t count(const std::string& collection) = 0;
  // min(k, matching) hits, closest first, ties by id; distances per
  // messages/distance.hpp.
  virtual std::vector<search_hit> search(const std::string& collection,
                                         const search_request& req) = 0;
  // One hit list per query, in query order; each list is exactly what
  // search() returns for that query alone. The default runs them one by one.
  virtual std::vector<std::vector<search_hit>> search_batch(
      const std::string& collection, const batch_search_request& req);
  // Up to `limit` records with id > after (bytewise), in id order. An empty
  // next_cursor marks the last page.
  virtual scan_page scan(const std::string& collection,
                         const std::string& after, std::uint32_t limit) = 0;
};

}  // namespace storage
