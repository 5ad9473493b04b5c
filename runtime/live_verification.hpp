// What a live migration's coordinator makes of the router's verification
// answers: the differences over all pages, the collection lists of both
// sides, and the error a failed verification reports.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actors/migration/migration_verifier.hpp"
#include "messages/errors.hpp"
#include "messages/records.hpp"

namespace storage {

// Missing, extra and mismatched ids over every page, with up to ten named
// in all.
class live_differences {
 public:
  void add(const std::vector<std::string>& missing,
           const std::vector<std::string>& extra,
           const std::vector<std::string>& mismatched);
  bool any() const;
  std::uint64_t total() const;
  // "N missing (a, b), N extra (...), N mismatched (...)" for what is there.
  std::string describe() const;

 private:
  id_sample missing_, extra_, mismatched_;
};

// The collections both sides must compare, or the problems that fail the
// verification: a source collection missing on the target (unless the
// source dropped it during the migration, which the router recorded, not
// guessed from an error) or with another dimension or metric there.
// A collection only the target has is not part of the store being moved (a
// server's database often holds other stores' collections): it is listed
// in `target_only` for a warning, and fails nothing.
struct collection_check {
  std::vector<std::string> both;
  std::vector<std::string> problems;
  std::vector<std::string> target_only;
};
collection_check compare_collections(
    const std::vector<collection_spec>& source,
    const std::vector<collection_spec>& target,
    const std::vector<std::string>& dropped_live);

}  // namespace storage
