// Verification: both sides streamed page by page and compared by count and
// per-record digest (migration_digest.hpp), reporting what differs by kind:
// missing (on the source, not on the target), extra (on the target, not on
// the source) and mismatched (on both, different).
//
// Vector scans come in id order on every backend, so the two streams are
// merged like sorted lists: memory is two pages. Cache scans have no order a
// target shares (a Redis SCAN follows the hash table), so the source's digests
// go into a map keyed by key, and the target's stream is checked against it:
// memory is O(keys) of small digests (key, 8-byte digest, expiry) — never the
// values.
//
// The comparisons take a visitor that sees every difference, not only the
// first ten: the repair (migration_repair.hpp) fixes what they find.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/interfaces.hpp"

namespace storage {

enum class difference { missing, extra, mismatched };

const char* to_string(difference d);

// How many ids of one kind differ, and the first ten of them.
struct id_sample {
  static constexpr std::size_t max_named = 10;
  std::uint64_t count = 0;
  std::vector<std::string> first;

  void note(const std::string& id);
};

// "a, b, ..." : as many of the sample's ids as `budget` has left, taken
// from it, so a message names up to ten differing ids in all (CLI.md).
std::string name_ids(const id_sample& s, std::size_t& budget);

struct verify_report {
  std::uint64_t source_count = 0;
  std::uint64_t target_count = 0;
  id_sample missing;
  id_sample extra;
  id_sample mismatched;
  // The collection itself differs: on one side only, or another dimension or
  // metric (" does not exist on the target", ...). Empty when it does not.
  std::string collection_problem;

  std::uint64_t differing() const {
    return missing.count + extra.count + mismatched.count;
  }
  bool passed() const { return differing() == 0 && collection_problem.empty(); }
  const id_sample& of(difference d) const;
};

// Sees each difference once. `source` is the source's record for missing and
// mismatched ids, null for extra ones; valid only during the call.
using record_visitor = std::function<void(difference, const std::string& id,
                                          const vector_record* source)>;
using key_visitor = std::function<void(difference, const std::string& key)>;

// Which sides hold the collection: an absent side compares as empty instead
// of failing with collection_not_found.
struct collection_sides {
  bool on_source = true;
  bool on_target = true;
};

// The same ids with the same digests on both sides. Throws store_error when
// a scan fails.
verify_report compare_collection(
    caf::actor_system& sys, const vector_store_actor& source,
    const vector_store_actor& target, const std::string& collection,
    std::uint32_t page, const std::string& source_name,
    const std::string& target_name, const record_visitor& visit = {},
    collection_sides sides = {});

// The same live keys with the same values, and expiries equal within
// `tolerance`. A key that expires within the tolerance of the check may be on
// one side only, and one that does so on both sides may differ: it is about
// to be gone from both, so it is no difference.
verify_report compare_cache(caf::actor_system& sys,
                            const cache_store_actor& source,
                            const cache_store_actor& target, std::uint32_t page,
                            std::chrono::milliseconds tolerance,
                            const std::string& source_name,
                            const std::string& target_name,
                            const key_visitor& visit = {});

// The two above without a visitor, as a migration's verification runs them.
inline verify_report verify_collection(caf::actor_system& sys,
                                       const vector_store_actor& source,
                                       const vector_store_actor& target,
                                       const std::string& collection,
                                       std::uint32_t page,
                                       const std::string& source_name,
                                       const std::string& target_name) {
  return compare_collection(sys, source, target, collection, page, source_name,
                            target_name);
}

inline verify_report verify_cache(caf::actor_system& sys,
                                  const cache_store_actor& source,
                                  const cache_store_actor& target,
                                  std::uint32_t page,
                                  std::chrono::milliseconds tolerance,
                                  const std::string& source_name,
                                  const std::string& target_name) {
  return compare_cache(sys, source, target, page, tolerance, source_name,
                       target_name);
}

// "collection 'docs': 1 missing (r7), 1 extra (x1), 2 mismatched (r3, r9) of
// 10 on the source and 10 on the target". `what` names the collection or the
// cache.
std::string describe(const verify_report& r, const std::string& what);

// Throws verification_failed with describe(r, what) unless r passed.
void require_verified(const verify_report& r, const std::string& what);

}  // namespace storage
