// Small pieces the live-migration files share: error codes, requests sent
// one after the other, chunks, merged mirror batches, the final check's
// error.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "actors/routing/router_core.hpp"

namespace storage {

// Whether `e` is our error `code` (CAF 0.17's category() of an empty error
// crashes, so that is checked first).
inline bool has_code(const caf::error& e, errc code) {
  return e && e.category() == error_category &&
         static_cast<errc>(e.code()) == code;
}

// Runs `step` again each time it calls the `again` it is given: requests
// that must go out one after the other. A pending request's callback holds
// `again` and so the chain; the chain holds itself only weakly, so it is
// freed once a step no longer calls `again`.
inline void one_after_another(
    std::function<void(std::function<void()> again)> step) {
  auto chain = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = chain;
  *chain = [step, weak] {
    auto held = weak.lock();
    step([held] { (*held)(); });
  };
  (*chain)();
}

// `keys` in chunks of at most `n`.
template <class Set>
std::vector<std::vector<std::string>> chunks_of(const Set& keys,
                                                std::size_t n) {
  std::vector<std::vector<std::string>> out;
  for (auto x = keys.begin(); x != keys.end();) {
    std::vector<std::string> chunk;
    for (; x != keys.end() && chunk.size() < n; ++x) chunk.push_back(*x);
    out.push_back(std::move(chunk));
  }
  return out;
}

// One write per key, in the order of each key's last write: what a batch of
// mirrored writes merges into (a batch may not name a key twice).
template <class Item, class KeyOf>
std::vector<Item> last_per_key(std::vector<Item> items, KeyOf key_of) {
  std::vector<Item> out;
  std::unordered_set<std::string> seen;
  for (auto it = items.rbegin(); it != items.rend(); ++it)
    if (seen.insert(key_of(*it)).second) out.push_back(std::move(*it));
  std::reverse(out.begin(), out.end());
  return out;
}

// The error a final check reports: how many differ, naming up to ten.
inline caf::error still_differ(const std::string& where, const char* what,
                               const std::vector<std::string>& differ,
                               const std::string& store) {
  std::string named;
  for (std::size_t k = 0; k < differ.size() && k < 10; ++k)
    named += (k ? ", " : "") + differ[k];
  return router_error(errc::verification_failed,
                      where + std::to_string(differ.size()) + " " + what +
                          " differ after every write landed: " + named,
                      "verify", store);
}

}  // namespace storage
