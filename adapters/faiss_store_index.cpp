#include "adapters/faiss_store_index.hpp"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/IDSelector.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "messages/distance.hpp"

namespace storage::faiss_detail {

namespace {

using label_t = faiss::Index::idx_t;

struct mask_selector : faiss::IDSelector {
  explicit mask_selector(const std::vector<std::uint8_t>& m) : mask(m) {}
  bool is_member(label_t id) const override {
    return id >= 0 && static_cast<std::size_t>(id) < mask.size() &&
           mask[static_cast<std::size_t>(id)] != 0;
  }
  const std::vector<std::uint8_t>& mask;
};

double squared_norm(const float* v, std::size_t dim) {
  double n = 0;
  for (std::size_t i = 0; i < dim; ++i) {
    double x = v[i];
    n += x * x;
  }
  return n;
}

// Cosine runs on inner product over unit vectors; a zero vector stays zero,
// which scores it orthogonal to everything, as storage::distance does.
void normalize(float* v, std::size_t dim) {
  double n = std::sqrt(squared_norm(v, dim));
  if (n == 0) return;
  for (std::size_t i = 0; i < dim; ++i)
    v[i] = static_cast<float>(static_cast<double>(v[i]) / n);
}

// One query runs on the calling thread: an OpenMP team per query (HNSW opens
// one even for a single query) measured 15x slower on a busy 2-core machine,
// its spinning threads starving the runtime's workers. The setting is the
// calling thread's own and is restored on return.
class single_threaded {
 public:
  single_threaded() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~single_threaded() { omp_set_num_threads(saved_); }
  single_threaded(const single_threaded&) = delete;
  single_threaded& operator=(const single_threaded&) = delete;

 private:
  int saved_;
};

}  // namespace

collection_state::collection_state(const collection_spec& spec,
                                   const index_options& opts)
    : spec_(spec), opts_(opts), dim_(spec.dimension) {}

collection_state::~collection_state() = default;

void collection_state::put(const std::string& id,
                           const std::vector<float>& embedding, metadata meta) {
  std::size_t slot = alive_.size();
  if (auto it = slot_of_.find(id); it != slot_of_.end()) {
    alive_[it->second] = 0;
    metas_[it->second].clear();
    --live_;
    it->second = slot;
  } else {
    slot_of_.emplace(id, slot);
  }
  vecs_.insert(vecs_.end(), embedding.begin(), embedding.end());
  double norm = squared_norm(embedding.data(), dim_);
  norms_.push_back(norm);
  max_norm_ = std::max(max_norm_, std::sqrt(norm));
  ids_.push_back(id);
  metas_.push_back(normalized(std::move(meta)));
  alive_.push_back(1);
  ++live_;
  maybe_compact();
}

bool collection_state::erase(const std::string& id) {
  auto it = slot_of_.find(id);
  if (it == slot_of_.end()) return false;
  alive_[it->second] = 0;
  metas_[it->second].clear();
  --live_;
  slot_of_.erase(it);
  maybe_compact();
  return true;
}

std::vector<std::string> collection_state::matching(const filter& where) const {
  std::vector<std::string> out;
  for (std::size_t s = 0; s < alive_.size(); ++s)
    if (alive_[s] && where.matches(metas_[s])) out.push_back(ids_[s]);
  return out;
}

std::vector<float> collection_state::embedding(std::size_t slot) const {
  return std::vector<float>(vec(slot), vec(slot) + dim_);
}

// Mirrors storage::distance operation for operation, so the result is the
// same double every other backend's answer is checked against.
double collection_state::exact(const float* q, double qnorm,
                               std::size_t slot) const {
  const float* v = vec(slot);
  switch (spec_.metric) {
    case metric::l2: {
      double l2 = 0;
      for (std::size_t i = 0; i < dim_; ++i) {
        double x = q[i], y = v[i];
        l2 += (x - y) * (x - y);
      }
      return l2;
    }
    case metric::ip: {
      double dot = 0;
      for (std::size_t i = 0; i < dim_; ++i) {
        double x = q[i], y = v[i];
        dot += x * y;
      }
      return 1.0 - dot;
    }
    case metric::cosine:
    default: {
      double dot = 0;
      for (std::size_t i = 0; i < dim_; ++i) {
        double x = q[i], y = v[i];
        dot += x * y;
      }
      double nb = norms_[slot];
      return qnorm == 0 || nb == 0 ? 1.0 : 1.0 - dot / std::sqrt(qnorm * nb);
    }
  }
}

void collection_state::sort_hits(std::vector<hit>& hits,
                                 std::size_t want) const {
  want = std::min(want, hits.size());
  auto by_distance_then_id = [this](const hit& a, const hit& b) {
    return closer(a.distance, ids_[a.slot], b.distance, ids_[b.slot]);
  };
  std::partial_sort(hits.begin(), hits.begin() + static_cast<long>(want),
                    hits.end(), by_distance_then_id);
  hits.resize(want);
}

std::vector<collection_state::hit> collection_state::search(
    const std::vector<float>& query, std::uint32_t k, const filter* where) {
  std::vector<std::uint8_t> filtered;
  std::size_t candidates = live_;
  if (where) {
    filtered.assign(alive_.size(), 0);
    candidates = 0;
    for (std::size_t s = 0; s < alive_.size(); ++s)
      if (alive_[s] && where->matches(metas_[s])) {
        filtered[s] = 1;
        ++candidates;
      }
  }
  const auto& mask = where ? filtered : alive_;
  std::size_t want = std::min<std::size_t>(k, candidates);
  if (want == 0) return {};
  // A selective filter defeats graph search (most neighbours are filtered
  // out), and a scan over few candidates is cheap and exact anyway.
  bool scan =
      candidates <= opts_.exact_below || (where && candidates * 10 < live_);
  if (!scan) {
    auto hits = index_search(query, want, candidates, mask);
    if (!hits.empty()) return hits;
  }
  return brute_force(query, want, mask);
}

std::vector<collection_state::hit> collection_state::brute_force(
    const std::vector<float>& query, std::size_t want,
    const std::vector<std::uint8_t>& mask) const {
  double qnorm = squared_norm(query.data(), dim_);
  std::vector<hit> hits;
  for (std::size_t s = 0; s < mask.size(); ++s)
    if (mask[s]) hits.push_back({s, exact(query.data(), qnorm, s)});
  sort_hits(hits, want);
  return hits;
}

std::vector<collection_state::hit> collection_state::index_search(
    const std::vector<float>& query, std::size_t want, std::size_t candidates,
    const std::vector<std::uint8_t>& mask) {
  sync_index();
  std::vector<float> q = query;
  if (spec_.metric == metric::cosine) normalize(q.data(), dim_);
  double qnorm = squared_norm(query.data(), dim_);
  // FAISS ranks in float: a record it left out may still tie or beat the
  // k-th hit in double if it lies within float error of the last one fetched.
  double scale = spec_.metric == metric::ip       ? std::sqrt(qnorm) * max_norm_
                 : spec_.metric == metric::cosine ? 1.0
                                                  : 0.0;
  mask_selector sel(mask);
  // Without dead slots or a filter every label qualifies, and FAISS's flat
  // scan is much faster without a selector to consult per vector.
  faiss::IDSelector* selector = candidates == alive_.size() ? nullptr : &sel;
  std::size_t fetch =
      std::min(candidates, want + std::max<std::size_t>(want, 16));
  std::vector<float> dist;
  std::vector<label_t> labels;
  std::vector<hit> hits;
  for (;;) {
    if (!opts_.hnsw && fetch >= candidates) return {};
    dist.assign(fetch, 0);
    labels.assign(fetch, -1);
    auto n = static_cast<label_t>(fetch);
    single_threaded one_thread;
    if (opts_.hnsw) {
      faiss::SearchParametersHNSW params;
      params.sel = selector;
      params.efSearch = std::max(opts_.ef_search, static_cast<int>(fetch));
      index_->search(1, q.data(), n, dist.data(), labels.data(), &params);
    } else {
      faiss::SearchParameters params;
      params.sel = selector;
      index_->search(1, q.data(), n, dist.data(), labels.data(), &params);
    }
    hits.clear();
    double worst = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < fetch; ++i) {
      if (labels[i] < 0 || !sel.is_member(labels[i])) continue;
      auto slot = static_cast<std::size_t>(labels[i]);
      hits.push_back({slot, exact(query.data(), qnorm, slot)});
      double d = spec_.metric == metric::l2 ? dist[i] : 1.0 - dist[i];
      worst = std::max(worst, d);
    }
    if (hits.size() < want) return {};
    sort_hits(hits, hits.size());
    double kth = hits[want - 1].distance;
    bool more_may_tie = hits.size() < candidates &&
                        worst - kth <= 1e-4 * (1 + std::abs(kth) + scale);
    if (!more_may_tie) break;
    if (fetch >= candidates) return {};
    fetch = std::min(candidates, fetch * 2);
  }
  hits.resize(want);
  return hits;
}

void collection_state::sync_index() {
  if (!index_) {
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
    indexed_ = 0;
  }
  std::size_t n = alive_.size() - indexed_;
  if (n == 0) return;
  // Dead slots are added too: labels must stay equal to slot numbers.
  std::vector<float> rows(vecs_.begin() + static_cast<long>(indexed_ * dim_),
                          vecs_.end());
  if (spec_.metric == metric::cosine)
    for (std::size_t i = 0; i < n; ++i) normalize(&rows[i * dim_], dim_);
  index_->add(static_cast<label_t>(n), rows.data());
  indexed_ = alive_.size();
}

void collection_state::maybe_compact() {
  std::size_t dead = alive_.size() - live_;
  if (dead < 64 || dead * 5 <= alive_.size()) return;
  std::vector<float> vecs;
  std::vector<double> norms;
  std::vector<std::string> ids;
  std::vector<metadata> metas;
  vecs.reserve(live_ * dim_);
  norms.reserve(live_);
  ids.reserve(live_);
  metas.reserve(live_);
  max_norm_ = 0;
  for (std::size_t s = 0; s < alive_.size(); ++s) {
    if (!alive_[s]) continue;
    vecs.insert(vecs.end(), vec(s), vec(s) + dim_);
    norms.push_back(norms_[s]);
    max_norm_ = std::max(max_norm_, std::sqrt(norms_[s]));
    slot_of_[ids_[s]] = ids.size();
    ids.push_back(std::move(ids_[s]));
    metas.push_back(std::move(metas_[s]));
  }
  vecs_ = std::move(vecs);
  norms_ = std::move(norms);
  ids_ = std::move(ids);
  metas_ = std::move(metas);
  alive_.assign(live_, 1);
  index_.reset();
  indexed_ = 0;
}

}  // namespace storage::faiss_detail
