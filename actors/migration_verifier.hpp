// Verification: both sides streamed page by page and compared by count and
// per-record digest (migration_digest.hpp).
//
// Vector scans come in id order on every backend, so the two streams are
// merged like sorted lists: memory is two pages. Cache scans have no order a
// target shares (a Redis SCAN follows the hash table), so the source's digests
// go into a map keyed by key, and the target's stream is checked against it:
// memory is O(keys) of small digests (key, 8-byte digest, expiry) — never the
// values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/interfaces.hpp"

namespace storage {

struct verify_report {
  std::uint64_t source_count = 0;
  std::uint64_t target_count = 0;
  std::uint64_t differing = 0;               // ids or keys that differ
  std::vector<std::string> first_differing;  // at most ten of them
};

// The same ids with the same digests on both sides; extra or missing ids
// differ too. Throws store_error when a scan fails.
verify_report verify_collection(caf::actor_system& sys,
                                const vector_store_actor& source,
                                const vector_store_actor& target,
                                const std::string& collection,
                                std::uint32_t page,
                                const std::string& source_name,
                                const std::string& target_name);

// The same live keys with the same values, and expiries equal within
// `tolerance`. A key that expires within the tolerance of the check may be
// on one side only.
verify_report verify_cache(caf::actor_system& sys,
                           const cache_store_actor& source,
                           const cache_store_actor& target, std::uint32_t page,
                           std::chrono::milliseconds tolerance,
                           const std::string& source_name,
                           const std::string& target_name);

// Throws verification_failed naming the first differing ids, if any differ.
void require_verified(const verify_report& r, const std::string& what);

}  // namespace storage
