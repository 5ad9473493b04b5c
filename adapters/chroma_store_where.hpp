// Translation of the contract's `where` filter into Chroma's where syntax.
#pragma once

#include <nlohmann/json.hpp>

#include "messages/filter.hpp"

namespace storage {

// Chroma's where clause selecting exactly the records filter::matches
// accepts. Chroma 1.0.1 differs from the contract in ways this works around:
// - $and/$or want explicit {"k": {"$op": v}} leaves;
// - a $in/$nin list must hold one JSON type (ints and floats are distinct
//   types there), so a mixed list becomes an $or/$and of per-type lists;
// - a non-integral float compared with an integer field is truncated toward
//   zero first ({"x": {"$eq": 0.5}} matches x = 0), so such a comparison is
//   combined with integer bounds that no integer can cross.
nlohmann::json chroma_where(const filter& f);

}  // namespace storage
