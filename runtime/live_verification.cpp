#include "runtime/live_verification.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace storage {

void live_differences::add(const std::vector<std::string>& missing,
                           const std::vector<std::string>& extra,
                           const std::vector<std::string>& mismatched) {
  for (auto& id : missing) missing_.note(id);
  for (auto& id : extra) extra_.note(id);
  for (auto& id : mismatched) mismatched_.note(id);
}

bool live_differences::any() const {
  return total() > 0;
}

std::uint64_t live_differences::total() const {
  return missing_.count + extra_.count + mismatched_.count;
}

std::string live_differences::describe() const {
  std::string out;
  std::size_t budget = id_sample::max_named;
  auto part = [&](const id_sample& k, const char* what) {
    if (k.count == 0) return;
    out += (out.empty() ? "" : ", ") + std::to_string(k.count) + " " + what +
           " (" + name_ids(k, budget) + ")";
  };
  part(missing_, "missing on the target");
  part(extra_, "extra on the target");
  part(mismatched_, "mismatched");
  return out;
}

collection_check compare_collections(
    const std::vector<collection_spec>& source,
    const std::vector<collection_spec>& target,
    const std::vector<std::string>& dropped_live) {
  std::map<std::string, const collection_spec*> src, tgt;
  for (auto& s : source) src[s.name] = &s;
  for (auto& s : target) tgt[s.name] = &s;
  std::set<std::string> dropped(dropped_live.begin(), dropped_live.end());
  collection_check out;
  for (auto& [name, s] : src) {
    auto it = tgt.find(name);
    if (it == tgt.end()) {
      if (!dropped.count(name))
        out.problems.push_back("collection '" + name +
                               "' is missing on the target");
      continue;
    }
    if (it->second->dimension != s->dimension ||
        it->second->metric != s->metric) {
      out.problems.push_back("collection '" + name +
                             "' has another dimension or metric on the "
                             "target");
      continue;
    }
    out.both.push_back(name);
  }
  for (auto& [name, s] : tgt)
    if (!src.count(name) && !dropped.count(name))
      out.target_only.push_back(name);
  return out;
}

}  // namespace storage
