// Translation of the contract's `where` filter into Chroma's where syntax.
#pragma once

#include <nlohmann/json.hpp>

#include "messages/filter.hpp"

namespace storage {

// Chroma's where clause selecting the records filter::matches accepts —
// exactly, except where Chroma cannot be trusted (below), where it selects
// more; every caller filters Chroma's answer with filter::matches. Null when
// it cannot narrow at all (send no where then). Chroma 1.0.1 differs from
// the contract in ways this works around:
// - $and/$or want explicit {"k": {"$op": v}} leaves;
// - a $in/$nin list must hold one JSON type (ints and floats are distinct
//   types there), so a mixed list becomes an $or/$and of per-type lists;
// - a non-integral float compared with an integer field is truncated toward
//   zero first ({"x": {"$eq": 0.5}} matches x = 0), so such a comparison is
//   combined with integer bounds that no integer can cross;
// - a double at or beyond 2^53 stands for many integers, which Chroma
//   compares exactly and the contract in double, and a "chroma:" key is
//   Chroma's own (its document): such a leaf selects everything.
nlohmann::json chroma_where(const filter& f);

}  // namespace storage
