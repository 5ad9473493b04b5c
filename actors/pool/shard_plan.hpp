// How a request about several shards of an in-process store (faiss://,
// memory://) is split: one message per shard it concerns, and how their
// replies become the one reply its caller expects. The dispatcher sends the
// parts itself (shard_scatter.hpp); the router splits the same way for the
// requests it still handles (routing/*_router.cpp).
//
// Keyed batches go by id: a record, key or id goes to the shard
// key_hash(id) % shards, as a single-key request does, and only shards that
// own something get a part. Searches and counts go to every shard; the
// parts of one query share a search_bound (search_bound.hpp). The
// request's records, entries and ids are moved into the parts, never
// copied.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <caf/all.hpp>

namespace storage {

struct shard_plan {
  struct part {
    std::uint32_t shard;
    caf::message request;
  };
  std::vector<part> parts;
  // The replies in the order of `parts`, each of the type the request's
  // own reply has; returns the caller's reply. Throws store_error for a
  // reply of another type.
  std::function<caf::message(std::vector<caf::message>&)> merge;
};

// The plan for `what` over `shards` shards (at least 2), taking its
// payload; nullopt, with `what` untouched, if the dispatcher does not split
// this kind of request (whole-store operations and scans go to the
// router). Throws store_error for a request that breaks the contract (a bad
// id, a duplicate record), before any part is made.
std::optional<shard_plan> plan_for_shards(caf::mailbox_element& what,
                                          std::uint32_t shards);

}  // namespace storage
