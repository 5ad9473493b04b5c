// The model the soak checks every answer against. Each caller owns its keys
// (or ids) and waits for each answer before its next request, so a key's
// state is known exactly after an acknowledged write; a write that failed
// may or may not have happened, so the model then allows both. A read must
// return one of the allowed states:
//   - an acknowledged write lost:     read != the value acknowledged last;
//   - a deleted record come back:     read has a value after an
//                                     acknowledged delete.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace storage::soak {

// nullopt: absent.
using state = std::optional<std::string>;

class key_model {
 public:
  void acknowledged(const state& s) { allowed_ = {s}; }
  void maybe(const state& s) { allowed_.insert(s); }
  // A delete: the absent state built in place (copying an empty optional
  // trips GCC 12's -Wmaybe-uninitialized under the sanitizers).
  void acknowledged_delete() {
    allowed_.clear();
    allowed_.emplace();
  }
  void maybe_deleted() { allowed_.emplace(); }

  // Checks a read; on success the read becomes the one known state.
  bool read(const state& s) {
    if (!allowed_.count(s)) return false;
    allowed_ = {s};
    return true;
  }

  // For a violation's description.
  std::string describe() const {
    std::string out;
    for (auto& s : allowed_) out += (out.empty() ? "" : " or ") + show(s);
    return out;
  }

  static std::string show(const state& s) {
    return s ? "'" + *s + "'" : std::string("absent");
  }

 private:
  std::set<state> allowed_{state{}};  // nothing written yet
};

// What one run found.
struct tally {
  std::uint64_t ops = 0;
  std::uint64_t failed = 0;  // answered with an error (allowed under faults)
  std::uint64_t faults = 0;
  std::vector<std::string> failed_faults;  // e.g. a swap while down
  std::vector<std::string> violations;
  std::map<std::string, std::uint64_t> errors;  // by code
};

}  // namespace storage::soak
