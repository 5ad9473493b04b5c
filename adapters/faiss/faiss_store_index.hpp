// The derived half of faiss_store: one collection's records in memory and
// its FAISS index. Private to the faiss_store library.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/faiss/faiss_store_ids.hpp"
#include "adapters/faiss/faiss_store_meta.hpp"
#include "messages/records.hpp"

namespace faiss {
struct Index;
struct IndexFlat;
struct IOReader;
struct IOWriter;
}  // namespace faiss

namespace storage::faiss_detail {

struct index_options {
  bool hnsw = false;
  int m = 32;
  int ef_construction = 64;
  int ef_search = 256;
  std::size_t exact_below = 10000;
};

// Records live in slots; a slot's number is its FAISS label. The vectors are
// kept once, in the FAISS index's own storage (normalized for cosine, with
// the original norms beside them), and serve exact scans too. Replacing or
// deleting a record leaves a dead slot (HNSW cannot remove), which searches
// skip; when dead slots pass a fifth of all, a flat index compacts its
// slots in place, and when they pass half of an hnsw graph's, wants_rebuild
// asks the owner for a new graph (faiss_store builds it in the background).
// Writes reach the index at once, so an hnsw upsert pays for its graph
// insertions.
//
// Memory per record beyond the raw 4·d bytes: ~75 bytes (norm, id of up to
// 15 bytes kept inline, id table, metadata pointer, live flag) plus its
// metadata map when no other record has an equal one (metadata_pool); hnsw
// adds its graph, ~8·m bytes at level 0 (m=32: ~260 bytes).
class collection_state {
 public:
  struct hit {
    std::size_t slot;
    double distance;
  };

  collection_state(const collection_spec& spec, const index_options& opts);
  ~collection_state();
  collection_state(const collection_state&) = delete;
  collection_state& operator=(const collection_state&) = delete;

  // Adds the records, replacing any with the same id; their ids are
  // distinct. Documents are not kept.
  void put(const std::vector<vector_record>& records);
  // True if the id was present.
  bool erase(const std::string& id);
  // Room for `n` records without reallocating the vectors.
  void reserve(std::size_t n);
  std::size_t size() const { return live_; }
  // An hnsw graph at least half of whose slots are dead.
  bool wants_rebuild() const;

  std::vector<std::string> matching(const filter& where) const;
  // min(k, matching) hits, closest first, ties by id; distances computed in
  // double from the stored vectors as storage::distance does.
  std::vector<hit> search(const std::vector<float>& query, std::uint32_t k,
                          const filter* where);
  // One hit list per query, each exactly what search() gives for it, from
  // one FAISS call (BLAS for a flat index from 20 queries on). Past
  // `deadline` the queries not yet answered are not run: timeout.
  std::vector<std::vector<hit>> search_batch(
      const std::vector<std::vector<float>>& queries, std::uint32_t k,
      const filter* where, std::chrono::steady_clock::time_point deadline);

  const std::string& id(std::size_t slot) const { return ids_[slot]; }
  const metadata& meta(std::size_t slot) const;

  // Where the state stands in the collection's writes (the sequence numbers
  // of faiss_store_db.hpp). A complete state has every write up to seq().
  // A load that stopped part-way says how far it got:
  //   after_seq: every write up to seq(), and of write seq() + 1 the
  //              records with ids up to partial_id() (a replay after a
  //              snapshot reads rows in (seq, id) order);
  //   by_id:     of the collection as of write seq(), the records with ids
  //              up to partial_id() (a rebuild reads rows in id order).
  enum class partial_kind : std::uint8_t { none, after_seq, by_id };
  std::uint64_t seq() const { return seq_; }
  partial_kind partial() const { return partial_; }
  const std::string& partial_id() const { return partial_id_; }
  void set_seq(std::uint64_t seq, partial_kind partial = partial_kind::none,
               std::string partial_id = {}) {
    seq_ = seq;
    partial_ = partial;
    partial_id_ = std::move(partial_id);
  }

  // Snapshot image (faiss_store_snapshot.cpp): everything but the spec and
  // options, which the reader is given and checks against the image.
  void save(faiss::IOWriter& out) const;
  static std::unique_ptr<collection_state> load(faiss::IOReader& in,
                                                const collection_spec& spec,
                                                const index_options& opts,
                                                std::uint32_t version);

 private:
  // faiss_store_search.cpp
  struct search_plan {
    bool filtered = false;               // by a `where`
    std::vector<std::uint8_t> matching;  // the slots `where` matches
    std::size_t candidates = 0;          // slots the search may return
    std::size_t want = 0;                // hits to return
    bool scan = false;                   // exact scan rather than the index
    std::size_t first_fetch = 0;
  };
  search_plan plan(std::uint32_t k, const filter* where) const;
  const std::vector<std::uint8_t>& mask(const search_plan& p) const {
    return p.filtered ? p.matching : alive_;
  }
  std::vector<hit> search_planned(const std::vector<float>& query,
                                  const search_plan& p);
  // Runs `n` row-major queries (already normalized for cosine) through
  // FAISS, `fetch` results each, on the calling thread.
  void run_index(std::size_t n, const float* queries, std::size_t fetch,
                 const search_plan& p, float* dist, std::int64_t* labels);
  enum class verdict {
    done,        // `out` holds the want best
    fetch_more,  // records left out may tie or beat them within float error
    too_few,     // fewer than want qualifying hits: scan instead
  };
  // One query's FAISS results, rescored exactly into `out`.
  verdict rescore(const float* query, double qnorm, const float* dist,
                  const std::int64_t* labels, std::size_t fetch,
                  const search_plan& p, double slack,
                  std::vector<hit>& out) const;
  double float_slack(double qnorm, bool blas) const;

  faiss::IndexFlat& vectors() const;  // the index itself, or hnsw's storage
  const float* vec(std::size_t slot) const;
  double exact(const float* q, double qnorm, std::size_t slot) const;
  std::vector<hit> brute_force(const std::vector<float>& query,
                               const search_plan& p) const;
  // Empty when the index could not guarantee `want` hits, or when making
  // sure would cost more than a scan: the caller then falls back to brute
  // force.
  std::vector<hit> index_search(const std::vector<float>& query,
                                const search_plan& p);
  void sort_hits(std::vector<hit>& hits, std::size_t want) const;
  void make_index();
  void add_to_index(std::size_t n, const float* rows);
  void kill(std::size_t slot);
  void maybe_compact();

  collection_spec spec_;
  index_options opts_;
  std::size_t dim_;
  std::unique_ptr<faiss::Index> index_;
  std::vector<double> norms_;     // squared, in double, of the vector as given
  std::vector<std::string> ids_;  // empty for a dead slot
  metadata_pool meta_pool_;
  std::vector<std::shared_ptr<const metadata>> metas_;  // null when empty
  std::vector<std::uint8_t> alive_;
  slot_table slot_of_{ids_};
  std::size_t live_ = 0;
  double max_norm_ = 0;  // largest vector norm ever added; bounds float error
  std::uint64_t seq_ = 0;
  partial_kind partial_ = partial_kind::none;
  std::string partial_id_;
};

}  // namespace storage::faiss_detail
