// The killed writer's steps (tests/support/faiss_snapshot_writer.cpp), the
// same in the writer and in the test's model of the collection "col".
#pragma once

#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "adapters/vector_backend.hpp"

namespace storage::faiss_testing {

using model = std::map<std::string, vector_record>;

// One step of the killed writer, the same in the child and in the model.
struct step {
  std::vector<vector_record> upserts;
  std::vector<std::string> removes;
  std::optional<std::int64_t> remove_bucket;
};

inline step step_for(int round, int i) {
  std::mt19937 rng(static_cast<unsigned>(round * 100000 + i));
  step out;
  int kind = static_cast<int>(rng() % 10);
  if (kind < 6) {
    std::set<int> ids;
    while (ids.size() < 20) ids.insert(static_cast<int>(rng() % 800));
    for (int id : ids) {
      std::uniform_real_distribution<float> u(-1.f, 1.f);
      std::vector<float> v(32);
      for (auto& x : v) x = u(rng);
      out.upserts.push_back({"k" + std::to_string(id),
                             std::move(v),
                             {{"bucket", std::int64_t(rng() % 40)}},
                             std::nullopt});
    }
  } else if (kind < 9) {
    for (int j = 0; j < 10; ++j)
      out.removes.push_back("k" + std::to_string(rng() % 800));
  } else {
    out.remove_bucket = std::int64_t(rng() % 40);
  }
  return out;
}

inline void run_step(vector_backend& s, const step& st) {
  if (!st.upserts.empty()) s.upsert("col", st.upserts);
  if (!st.removes.empty()) s.remove("col", st.removes);
  if (st.remove_bucket)
    s.remove_where("col", filter::eq("bucket", *st.remove_bucket));
}

inline void model_step(model& m, const step& st) {
  for (auto& r : st.upserts) m[r.id] = r;
  for (auto& id : st.removes) m.erase(id);
  if (st.remove_bucket)
    for (auto it = m.begin(); it != m.end();)
      it = it->second.metadata.at("bucket") == metadata_value(*st.remove_bucket)
               ? m.erase(it)
               : std::next(it);
}

}  // namespace storage::faiss_testing
