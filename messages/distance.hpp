// The contract's distances, lower = closer: l2 is squared Euclidean, cosine is
// 1 - cosine similarity, ip is 1 - dot product. Computed in double so every
// backend's answer can be checked against it.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "messages/records.hpp"

namespace storage {

inline double distance(metric m, const std::vector<float>& a,
                       const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0, l2 = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    double x = a[i], y = b[i];
    dot += x * y;
    na += x * x;
    nb += y * y;
    l2 += (x - y) * (x - y);
  }
  switch (m) {
    case metric::l2:
      return l2;
    case metric::ip:
      return 1.0 - dot;
    case metric::cosine:
    default:
      // A zero vector has no direction: treat it as orthogonal to all.
      // Rounding can push the similarity past +-1; clamped, as pgvector
      // does, so a distance is never negative.
      return na == 0 || nb == 0
                 ? 1.0
                 : 1.0 - std::clamp(dot / std::sqrt(na * nb), -1.0, 1.0);
  }
}

// Hits order by distance, ties by id bytewise.
inline bool closer(double da, const std::string& ia, double db,
                   const std::string& ib) {
  return da < db || (da == db && ia < ib);
}

}  // namespace storage
