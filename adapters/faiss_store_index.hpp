// The derived half of faiss_store: one collection's records in memory and
// its FAISS index. Private to the faiss_store library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "messages/records.hpp"

namespace faiss {
struct Index;
}

namespace storage::faiss_detail {

struct index_options {
  bool hnsw = false;
  int m = 32;
  int ef_construction = 64;
  int ef_search = 256;
  std::size_t exact_below = 10000;
};

// Records live in slots; a slot's number is its FAISS label. Replacing or
// deleting a record leaves a dead slot (HNSW cannot remove), which searches
// skip; when dead slots pass a fifth of all, the slots are compacted and the
// index is rebuilt. The index itself catches up with new slots lazily, at the
// next search that needs it.
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

  // Adds the record, replacing any record with its id.
  void put(const std::string& id, const std::vector<float>& embedding,
           metadata meta);
  // True if the id was present.
  bool erase(const std::string& id);
  std::size_t size() const { return live_; }

  std::vector<std::string> matching(const filter& where) const;
  // min(k, matching) hits, closest first, ties by id; distances computed in
  // double exactly as storage::distance does.
  std::vector<hit> search(const std::vector<float>& query, std::uint32_t k,
                          const filter* where);

  const std::string& id(std::size_t slot) const { return ids_[slot]; }
  const metadata& meta(std::size_t slot) const { return metas_[slot]; }
  std::vector<float> embedding(std::size_t slot) const;

 private:
  const float* vec(std::size_t slot) const { return &vecs_[slot * dim_]; }
  double exact(const float* q, double qnorm, std::size_t slot) const;
  std::vector<hit> brute_force(const std::vector<float>& query,
                               std::size_t want,
                               const std::vector<std::uint8_t>& mask) const;
  // Empty when the index could not guarantee `want` hits: the caller then
  // falls back to brute force.
  std::vector<hit> index_search(const std::vector<float>& query,
                                std::size_t want, std::size_t candidates,
                                const std::vector<std::uint8_t>& mask);
  void sort_hits(std::vector<hit>& hits, std::size_t want) const;
  void sync_index();
  void maybe_compact();

  collection_spec spec_;
  index_options opts_;
  std::size_t dim_;
  std::vector<float> vecs_;
  std::vector<double> norms_;  // squared, in double, per slot
  std::vector<std::string> ids_;
  std::vector<metadata> metas_;
  std::vector<std::uint8_t> alive_;
  std::unordered_map<std::string, std::size_t> slot_of_;
  std::size_t live_ = 0;
  double max_norm_ = 0;  // largest vector norm ever added; bounds float error
  std::unique_ptr<faiss::Index> index_;
  std::size_t indexed_ = 0;  // slots already added to index_
};

}  // namespace storage::faiss_detail
