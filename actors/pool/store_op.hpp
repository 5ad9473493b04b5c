// The operations of the two store interfaces (messages/interfaces.hpp) as
// one small enum: errors name a request by it, and metrics count by it
// without comparing strings on the request path.
#pragma once

#include <cstddef>
#include <cstdint>

#include <caf/fwd.hpp>

#include "adapters/cache_backend.hpp"

namespace storage {

enum class store_op : std::uint8_t {
  // vector stores
  create,
  drop,
  list,
  upsert,
  get,  // a cache's get too
  remove,
  count,
  search,
  scan,  // a cache's scan too
  // caches
  set,
  add,
  del,
  exists,
  mget,
  mset,
  incr,
  expire,
  ttl,
  clear,
  // a message that is not a store operation
  other,
};

constexpr std::size_t store_op_count =
    static_cast<std::size_t>(store_op::other) + 1;

// Whether `op` reads a bounded set of keys named in the request (no scan,
// no count of a whole store).
constexpr bool is_point_read(store_op op) {
  switch (op) {
    case store_op::get:
    case store_op::exists:
    case store_op::mget:
    case store_op::ttl:
      return true;
    default:
      return false;
  }
}

// Whether `op` only reads: it changes nothing a live migration mirrors.
constexpr bool is_read(store_op op) {
  return is_point_read(op) || op == store_op::list || op == store_op::count ||
         op == store_op::search || op == store_op::scan;
}

// The name errors and metrics use: "upsert", "delete" (a vector store's),
// "del" (a cache's), ...; "request" for other.
const char* to_string(store_op op);

// The operation `req` asks for; other if it is none.
store_op op_of(const caf::type_erased_tuple& req);
store_op op_of(cache_op_kind kind);

}  // namespace storage
