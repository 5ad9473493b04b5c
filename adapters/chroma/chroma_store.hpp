// chroma://host:port?tenant=T&database=D&m=32&ef_construction=200&ef_search=200
// — a vector store in a Chroma server (HTTP API v2, checked against 1.0.1)
// over one keep-alive HTTP connection.
//
// - tenant and database default to Chroma's "default_tenant" and
//   "default_database"; both are created on first use when missing.
// - m, ef_construction, ef_search: HNSW parameters given to collections this
//   adapter creates (kept in the collection's metadata as hnsw:*); the
//   defaults answer collections of a few thousand records exactly.
// - Each collection also carries "dimension" in its metadata, since Chroma
//   itself learns the dimension only from the first insert.
// - Requests wait at most timeout_ms (default 10000, the store's deadline,
//   and never past a request's deadline), connects 2000 ms.
//
// Where Chroma differs from the contract, this adapter makes up for it:
// upsert sends null for every old metadata key the new record lacks (Chroma
// merges), and deletes first the records whose document must disappear
// (Chroma cannot clear a document), so that one upsert is two requests;
// distances are recomputed in double from the stored embeddings, ties
// ordered by id; results are checked against filter::matches; a search that
// comes back short of min(k, matches) is redone exactly over the matching
// records. Metadata keys starting with "chroma:" are rejected: Chroma keeps
// its own data there, and writing one breaks the collection for good.
// scan has no server-side id order to use: each page lists every id (O(n)).
//
// Exact embeddings on cosine collections: Chroma's index (its hnswlib fork)
// keeps a cosine vector as its unit vector and its length, both float32,
// and answers get and query with their product, an ulp or so off the values
// written ([0.3, 0.4, 0.5] comes back [0.3, 0.4, 0.49999997]); the values
// written are gone from the server. So each record of a cosine collection
// also carries an exact copy in its uri, a Chroma column the contract does
// not use: "data:application/x-float32le;base64,..." (chroma_exact_copy),
// about 1.33 x 4 bytes per dimension more per record. Reads prefer the copy
// while it agrees with the embedding to 1e-3 of its norm; a record written
// before copies, or re-embedded by another Chroma client (whose upsert
// keeps the old uri), answers with Chroma's values instead. Clients other
// than this adapter see the copy as the record's uri. l2 and ip
// collections come back exact and carry no copy.
//
// Documents: Chroma keeps a record's document when an upsert gives none,
// so a record upserted without a document over one that had it is written
// with "" and a mark at the end of its uri (chroma_no_document), read back
// as no document. An upsert is one request whatever it replaces.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/chroma/chroma_store_http.hpp"
#include "adapters/chroma/chroma_store_reply.hpp"
#include "adapters/vector_backend.hpp"
#include "messages/errors.hpp"
#include "messages/store_uri.hpp"

namespace storage {

struct chroma_options {
  std::string host;
  std::uint16_t port = 8000;
  std::string tenant = "default_tenant";
  std::string database = "default_database";
  std::int64_t m = 32;
  std::int64_t ef_construction = 200;
  std::int64_t ef_search = 200;
  long timeout_ms = 10000;
  std::string store;  // the URI, redacted, for error messages
};

class chroma_store final : public vector_backend {
 public:
  explicit chroma_store(chroma_options opts);

  vector_capabilities capabilities() const override;
  void set_deadline(std::chrono::steady_clock::time_point deadline) override {
    http_.set_deadline(deadline);
  }
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
  // One /query for the whole batch.
  std::vector<std::vector<search_hit>> search_batch(
      const std::string& collection, const batch_search_request& req) override;
  scan_page scan(const std::string& collection, const std::string& after,
                 std::uint32_t limit) override;

 private:
  using collection_info = chroma_collection;

  // One request; a non-2xx answer becomes the matching store_error.
  nlohmann::json call(const char* method, const std::string& path,
                      const nlohmann::json* body = nullptr);
  void ensure_database();
  std::string collections_path() const;
  collection_info lookup(const std::string& name);
  // Runs fn(info, records_path). A cached id may be stale when another
  // connection dropped and recreated the collection (maybe with another
  // dimension): on collection_not_found or dimension_mismatch the lookup is
  // refreshed and fn runs once more.
  template <class F>
  auto with_collection(const std::string& name, F fn) {
    for (int attempt = 0;; ++attempt) {
      bool cached = cache_.count(name) > 0;
      collection_info info = lookup(name);
      try {
        return fn(info, collections_path() + "/" + info.id);
      } catch (const store_error& e) {
        if (e.code() != errc::collection_not_found &&
            e.code() != errc::dimension_mismatch)
          throw;
        cache_.erase(name);
        if (!cached || attempt > 0) throw;
      }
    }
  }
  // Adds the operation and the store to any store_error.
  template <class F>
  auto guarded(const char* op, F fn) {
    try {
      return fn();
    } catch (const store_error& e) {
      throw e.with_context(op, opts_.store);
    } catch (const nlohmann::json::exception& e) {
      throw store_error(errc::internal,
                        "unexpected answer from Chroma at " + http_.endpoint() +
                            ": " + e.what(),
                        op, opts_.store);
    }
  }

  // The records' ids, in the order Chroma lists them, all pages.
  std::vector<std::string> all_ids(const std::string& path,
                                   const nlohmann::json* where);
  std::vector<vector_record> fetch(const std::string& path,
                                   const nlohmann::json& request);
  // The top k of each query: one /query for all, then each answer checked
  // as the header says (ties, filter, short answers redone exactly over
  // the matching records, which are fetched once for all queries).
  std::vector<std::vector<search_hit>> query_many(
      const collection_info& info, const std::string& path,
      const std::vector<std::vector<float>>& queries, std::uint32_t k,
      const std::optional<filter>& where, const include_fields& include);

  chroma_options opts_;
  chroma_http http_;
  bool database_ready_ = false;
  std::map<std::string, collection_info> cache_;
};

}  // namespace storage
