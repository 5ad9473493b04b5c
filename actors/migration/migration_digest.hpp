// Per-record digests for verification: two sides hold the same record when
// their digests are equal. Each field is length-prefixed, so moving bytes
// between fields changes the digest; metadata is hashed as canonical JSON
// (keys sorted, nulls dropped) because every backend stores it differently.
#pragma once

#include <cstdint>
#include <string>

#include "messages/records.hpp"

namespace storage {

// FNV-1a over (id, embedding bytes, canonical metadata JSON, document).
// 64 bits: a collision between a source record and a different target record
// of the same id is ~2^-64, far below any other failure.
std::uint64_t record_digest(const vector_record& r);

// The digests differ, yet the records are the same but for rounding:
// embedding values within 5e-7 relative (7 significant digits) and
// metadata doubles within 4 units in the last place. Chroma 1.0.1 returns
// the embeddings of records it did not get from this runtime with about 7
// significant digits and parses a JSON double to within an ulp or two. Ids,
// documents and every other metadata value must match exactly. A real
// change smaller than that goes unseen.
bool same_up_to_rounding(const vector_record& a, const vector_record& b);

// FNV-1a over (key, value); the expiry is compared separately, within a
// tolerance.
std::uint64_t entry_digest(const std::string& key, const std::string& value);

}  // namespace storage
