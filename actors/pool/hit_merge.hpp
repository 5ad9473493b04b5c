// The merge of search hits from several shards: the k closest of all,
// ties broken by id, as one store's search would rank them. Used by the
// dispatcher's split of a search (shard_plan.hpp) and by the router's.
#pragma once

#include <cstdint>
#include <vector>

#include "messages/interfaces.hpp"

namespace storage {

using hits = std::vector<search_hit>;
using batch_hits = std::vector<std::vector<search_hit>>;

// The k closest of all parts' hits, ties by id.
hits merge_hits(std::vector<hits>& parts, std::uint32_t k);
// merge_hits per query of a batch; a part short of a query adds nothing.
batch_hits merge_batch_hits(std::vector<batch_hits>& parts, std::size_t queries,
                            std::uint32_t k);

}  // namespace storage
