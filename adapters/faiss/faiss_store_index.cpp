#include "adapters/faiss/faiss_store_index.hpp"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "adapters/faiss/faiss_store_math.hpp"

namespace storage::faiss_detail {

using label_t = faiss::Index::idx_t;

collection_state::collection_state(const collection_spec& spec,
                                   const index_options& opts)
    : spec_(spec), opts_(opts), dim_(spec.dimension) {
  make_index();
}

collection_state::~collection_state() = default;

void collection_state::make_index() {
  auto kind = spec_.metric == metric::l2 ? faiss::METRIC_L2
                                         : faiss::METRIC_INNER_PRODUCT;
  auto d = static_cast<int>(dim_);
  if (opts_.hnsw) {
    auto h = std::make_unique<faiss::IndexHNSWFlat>(d, opts_.m, kind);
    h->hnsw.efConstruction = opts_.ef_construction;
    h->hnsw.efSearch = opts_.ef_search;
    index_ = std::move(h);
  } else {
    index_ = std::make_unique<faiss::IndexFlat>(d, kind);
  }
}

faiss::IndexFlat& collection_state::vectors() const {
  if (!opts_.hnsw) return static_cast<faiss::IndexFlat&>(*index_);
  return *static_cast<faiss::IndexFlat*>(
      static_cast<faiss::IndexHNSW&>(*index_).storage);
}

const float* collection_state::vec(std::size_t slot) const {
  return vectors().get_xb() + slot * dim_;
}

const metadata& collection_state::meta(std::size_t slot) const {
  static const metadata none;
  return metas_[slot] ? *metas_[slot] : none;
}

void collection_state::reserve(std::size_t n) {
  vectors().codes.reserve(n * dim_ * sizeof(float));
  norms_.reserve(n);
  ids_.reserve(n);
  metas_.reserve(n);
  alive_.reserve(n);
}

void collection_state::put(const std::vector<vector_record>& records) {
  std::size_t n = records.size();
  if (n == 0) return;
  std::vector<float> rows(n * dim_);
  for (std::size_t i = 0; i < n; ++i) {
    auto& r = records[i];
    if (auto old = slot_of_.find(r.id)) kill(*old);
    std::size_t slot = alive_.size();
    float* row = &rows[i * dim_];
    std::copy(r.embedding.begin(), r.embedding.end(), row);
    double norm = squared_norm(row, dim_);
    if (spec_.metric == metric::cosine) normalize(row, dim_);
    norms_.push_back(norm);
    max_norm_ = std::max(max_norm_, std::sqrt(norm));
    ids_.push_back(r.id);
    auto meta = normalized(r.metadata);
    metas_.push_back(meta_pool_.intern(std::move(meta)));
    alive_.push_back(1);
    slot_of_.insert(slot);
    ++live_;
  }
  add_to_index(n, rows.data());
  maybe_compact();
}

void collection_state::add_to_index(std::size_t n, const float* rows) {
  // Small hnsw insertions run on the calling thread (see single_threaded);
  // bulk loads keep FAISS's OpenMP team.
  std::optional<single_threaded> one_thread;
  if (n < 256) one_thread.emplace();
  index_->add(static_cast<label_t>(n), rows);
}

void collection_state::kill(std::size_t slot) {
  slot_of_.erase(ids_[slot]);
  std::string().swap(ids_[slot]);
  metas_[slot].reset();
  alive_[slot] = 0;
  --live_;
}

bool collection_state::erase(const std::string& id) {
  auto slot = slot_of_.find(id);
  if (!slot) return false;
  kill(*slot);
  maybe_compact();
  return true;
}

std::vector<std::string> collection_state::matching(const filter& where) const {
  std::vector<std::string> out;
  for (std::size_t s = 0; s < alive_.size(); ++s)
    if (alive_[s] && where.matches(meta(s))) out.push_back(ids_[s]);
  return out;
}

bool collection_state::wants_rebuild() const {
  std::size_t slots = alive_.size(), dead = slots - live_;
  return opts_.hnsw && dead >= 64 && dead * 2 > slots;
}

void collection_state::maybe_compact() {
  std::size_t slots = alive_.size(), dead = slots - live_;
  // A flat index compacts in place; an hnsw graph is rebuilt by the owner
  // (wants_rebuild).
  if (opts_.hnsw || dead < 64 || dead * 5 <= slots) return;
  auto& store = vectors();
  std::size_t row = dim_ * sizeof(float), w = 0;
  max_norm_ = 0;
  for (std::size_t s = 0; s < slots; ++s) {
    if (!alive_[s]) continue;
    if (w != s) {
      std::memmove(store.codes.data() + w * row, store.codes.data() + s * row,
                   row);
      norms_[w] = norms_[s];
      ids_[w] = std::move(ids_[s]);
      metas_[w] = std::move(metas_[s]);
    }
    max_norm_ = std::max(max_norm_, std::sqrt(norms_[w]));
    ++w;
  }
  store.codes.resize(w * row);
  store.codes.shrink_to_fit();
  store.ntotal = static_cast<label_t>(w);
  norms_.resize(w);
  ids_.resize(w);
  metas_.resize(w);
  alive_.assign(w, 1);
  slot_of_.rebuild(alive_);
}

}  // namespace storage::faiss_detail
