// collection_state's searches: exact scans in double, and FAISS index
// searches whose candidates are rescored in double.
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/utils/distances.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "adapters/faiss/faiss_store_index.hpp"
#include "adapters/faiss/faiss_store_math.hpp"
#include "messages/distance.hpp"
#include "messages/errors.hpp"

namespace storage::faiss_detail {

using label_t = faiss::Index::idx_t;

namespace {

// Whether a flat search of n queries takes FAISS's BLAS path (20+ queries
// unless the process changed FAISS's threshold).
bool takes_blas(std::size_t n) {
  return n >= static_cast<std::size_t>(faiss::distance_compute_blas_threshold);
}

}  // namespace

// Mirrors storage::distance operation for operation, so the result is the
// same double every other backend's answer is checked against. For cosine
// the stored vector is unit length only to float precision: dividing by its
// own norm too keeps an exact match's distance at double rounding (~1e-16,
// as pgvector and Chroma answer) instead of float's (~1e-8).
double collection_state::exact(const float* q, double qnorm,
                               std::size_t slot) const {
  const float* v = vec(slot);
  double acc = 0;
  if (spec_.metric == metric::l2) {
    for (std::size_t i = 0; i < dim_; ++i) {
      double x = q[i], y = v[i];
      acc += (x - y) * (x - y);
    }
    return acc;
  }
  if (spec_.metric == metric::ip) {
    for (std::size_t i = 0; i < dim_; ++i)
      acc += static_cast<double>(q[i]) * v[i];
    return 1.0 - acc;
  }
  double vnorm = 0;
  for (std::size_t i = 0; i < dim_; ++i) {
    double x = q[i], y = v[i];
    acc += x * y;
    vnorm += y * y;
  }
  return qnorm == 0 || norms_[slot] == 0
             ? 1.0
             : 1.0 - std::clamp(acc / std::sqrt(qnorm * vnorm), -1.0, 1.0);
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

collection_state::search_plan collection_state::plan(
    std::uint32_t k, const filter* where) const {
  search_plan p;
  p.candidates = live_;
  if (where) {
    p.filtered = true;
    p.matching.assign(alive_.size(), 0);
    p.candidates = 0;
    for (std::size_t s = 0; s < alive_.size(); ++s)
      if (alive_[s] && where->matches(meta(s))) {
        p.matching[s] = 1;
        ++p.candidates;
      }
  }
  p.want = std::min<std::size_t>(k, p.candidates);
  // A selective filter defeats graph search (most neighbours are filtered
  // out), and a scan over few candidates is cheap and exact anyway.
  p.scan =
      p.candidates <= opts_.exact_below || (where && p.candidates * 10 < live_);
  p.first_fetch =
      std::min(p.candidates, p.want + std::max<std::size_t>(p.want, 16));
  // An exact flat scan through FAISS that must fetch everything is no
  // cheaper than our own.
  if (!opts_.hnsw && p.first_fetch >= p.candidates) p.scan = true;
  return p;
}

std::vector<collection_state::hit> collection_state::search(
    const std::vector<float>& query, std::uint32_t k, const filter* where) {
  return search_planned(query, plan(k, where));
}

std::vector<collection_state::hit> collection_state::search_planned(
    const std::vector<float>& query, const search_plan& p) {
  if (p.want == 0) return {};
  if (!p.scan) {
    auto hits = index_search(query, p);
    if (!hits.empty()) return hits;
  }
  return brute_force(query, p);
}

std::vector<std::vector<collection_state::hit>> collection_state::search_batch(
    const std::vector<std::vector<float>>& queries, std::uint32_t k,
    const filter* where, std::chrono::steady_clock::time_point deadline) {
  auto p = plan(k, where);
  std::vector<std::vector<hit>> out(queries.size());
  if (p.want == 0) return out;
  // Queries of a batch run one after another: each starts only within the
  // request's deadline, so a long batch ends by it rather than long after.
  auto in_time = [&](std::size_t i) {
    if (std::chrono::steady_clock::now() >= deadline)
      throw store_error(errc::timeout, "the deadline passed with " +
                                           std::to_string(i) + " of " +
                                           std::to_string(queries.size()) +
                                           " queries of the batch searched");
  };
  if (p.scan) {
    for (std::size_t i = 0; i < queries.size(); ++i) {
      in_time(i);
      out[i] = brute_force(queries[i], p);
    }
    return out;
  }
  std::size_t n = queries.size(), fetch = p.first_fetch;
  std::vector<float> rows(n * dim_);
  for (std::size_t i = 0; i < n; ++i) {
    std::copy(queries[i].begin(), queries[i].end(), &rows[i * dim_]);
    if (spec_.metric == metric::cosine) normalize(&rows[i * dim_], dim_);
  }
  std::vector<float> dist(n * fetch);
  std::vector<label_t> labels(n * fetch);
  run_index(n, rows.data(), fetch, p, dist.data(), labels.data());
  // FAISS's BLAS path computes l2 as |x|²+|y|²-2x·y, whose float error
  // grows with the norms.
  bool blas = !opts_.hnsw && takes_blas(n);
  for (std::size_t i = 0; i < n; ++i) {
    double qnorm = squared_norm(queries[i].data(), dim_);
    auto v =
        rescore(queries[i].data(), qnorm, &dist[i * fetch], &labels[i * fetch],
                fetch, p, float_slack(qnorm, blas), out[i]);
    // A query whose first fetch was not conclusive goes the single way.
    if (v != verdict::done) {
      in_time(i);
      out[i] = search_planned(queries[i], p);
    }
  }
  return out;
}

std::vector<collection_state::hit> collection_state::brute_force(
    const std::vector<float>& query, const search_plan& p) const {
  double qnorm = squared_norm(query.data(), dim_);
  std::vector<hit> hits;
  hits.reserve(p.candidates);
  const auto& m = mask(p);
  for (std::size_t s = 0; s < m.size(); ++s)
    if (m[s]) hits.push_back({s, exact(query.data(), qnorm, s)});
  sort_hits(hits, p.want);
  return hits;
}

void collection_state::run_index(std::size_t n, const float* queries,
                                 std::size_t fetch, const search_plan& p,
                                 float* dist, label_t* labels) {
  mask_selector sel(mask(p));
  // Without dead slots or a filter every label qualifies, and FAISS's flat
  // scan is much faster without a selector to consult per vector.
  faiss::IDSelector* selector = p.candidates == alive_.size() ? nullptr : &sel;
  std::fill(labels, labels + n * fetch, -1);
  single_threaded one_thread;
  auto nq = static_cast<label_t>(n);
  auto kk = static_cast<label_t>(fetch);
  if (opts_.hnsw) {
    faiss::SearchParametersHNSW params;
    params.sel = selector;
    params.efSearch = std::max(opts_.ef_search, static_cast<int>(fetch));
    index_->search(nq, queries, kk, dist, labels, &params);
  } else if (spec_.metric == metric::l2 && takes_blas(n)) {
    // FAISS's BLAS path would compute every stored vector's norm again, in
    // plain C (no SIMD): a quarter of a 64-query search over 1M records.
    // The state keeps them (in double; in float they match FAISS's to
    // rounding).
    std::vector<float> norms(norms_.begin(), norms_.end());
    faiss::knn_L2sqr(queries, vectors().get_xb(), dim_, n, norms.size(), fetch,
                     dist, labels, norms.data(), selector);
  } else {
    faiss::SearchParameters params;
    params.sel = selector;
    index_->search(nq, queries, kk, dist, labels, &params);
  }
}

// FAISS ranks in float: a record it left out may still tie or beat the k-th
// hit in double if it lies within float error of the last one fetched.
double collection_state::float_slack(double qnorm, bool blas) const {
  switch (spec_.metric) {
    case metric::ip:
      return std::sqrt(qnorm) * max_norm_;
    case metric::cosine:
      return 1.0;
    case metric::l2:
    default:
      return blas ? qnorm + max_norm_ * max_norm_ : 0.0;
  }
}

collection_state::verdict collection_state::rescore(
    const float* query, double qnorm, const float* dist, const label_t* labels,
    std::size_t fetch, const search_plan& p, double slack,
    std::vector<hit>& hits) const {
  mask_selector sel(mask(p));
  hits.clear();
  double worst = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < fetch; ++i) {
    if (labels[i] < 0 || !sel.is_member(labels[i])) continue;
    auto slot = static_cast<std::size_t>(labels[i]);
    hits.push_back({slot, exact(query, qnorm, slot)});
    double d = spec_.metric == metric::l2 ? dist[i] : 1.0 - dist[i];
    worst = std::max(worst, d);
  }
  if (hits.size() < p.want) return verdict::too_few;
  sort_hits(hits, hits.size());
  double kth = hits[p.want - 1].distance;
  bool more_may_tie = hits.size() < p.candidates &&
                      worst - kth <= 1e-4 * (1 + std::abs(kth) + slack);
  if (more_may_tie) return verdict::fetch_more;
  hits.resize(p.want);
  return verdict::done;
}

std::vector<collection_state::hit> collection_state::index_search(
    const std::vector<float>& query, const search_plan& p) {
  std::vector<float> q = query;
  if (spec_.metric == metric::cosine) normalize(q.data(), dim_);
  double qnorm = squared_norm(query.data(), dim_);
  std::vector<float> dist;
  std::vector<label_t> labels;
  std::vector<hit> hits;
  for (std::size_t fetch = p.first_fetch;;
       fetch = std::min(p.candidates, fetch * 2)) {
    if (!opts_.hnsw && fetch >= p.candidates) return {};
    // An HNSW search for `fetch` neighbours computes some tens of distances
    // per neighbour (efSearch >= fetch): from candidates / 32 on, the
    // exact scan is cheaper. Fetches grow so far only when the candidates'
    // distances are too close together for float to rank (clustered data).
    if (opts_.hnsw && fetch > p.first_fetch && fetch * 32 >= p.candidates)
      return {};
    dist.assign(fetch, 0);
    labels.assign(fetch, -1);
    run_index(1, q.data(), fetch, p, dist.data(), labels.data());
    switch (rescore(query.data(), qnorm, dist.data(), labels.data(), fetch, p,
                    float_slack(qnorm, false), hits)) {
      case verdict::done:
        return hits;
      case verdict::too_few:
        return {};
      case verdict::fetch_more:
        if (fetch >= p.candidates) return {};
    }
  }
}

}  // namespace storage::faiss_detail
