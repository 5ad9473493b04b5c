#include "runtime/live_verification.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace storage {

void live_differences::add(const std::vector<std::string>& missing,
                           const std::vector<std::string>& extra,
                           const std::vector<std::string>& mismatched) {
  auto note = [](kind& k, const std::vector<std::string>& ids) {
    k.count += ids.size();
    for (auto& id : ids)
      if (k.first.size() < 10) k.first.push_back(id);
  };
  note(missing_, missing);
  note(extra_, extra);
  note(mismatched_, mismatched);
}

bool live_differences::any() const {
  return total() > 0;
}

std::uint64_t live_differences::total() const {
  return missing_.count + extra_.count + mismatched_.count;
}

std::string live_differences::describe() const {
  std::string out;
  std::size_t budget = 10;  // ids named in all, as CLI.md says
  auto part = [&](const kind& k, const char* what) {
    if (k.count == 0) return;
    out +=
        (out.empty() ? "" : ", ") + std::to_string(k.count) + " " + what + " (";
    std::size_t named = 0;
    for (; named < k.first.size() && budget > 0; ++named, --budget)
      out += (named ? ", " : "") + k.first[named];
    out += k.count > named ? (named ? ", ...)" : "...)") : ")";
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
