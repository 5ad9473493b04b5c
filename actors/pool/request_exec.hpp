// One request of the store interfaces (messages/interfaces.hpp), run on an
// adapter: decoding the message, the contract's checks, the adapter call and
// the reply. Shared by a worker's mailbox and by a caller that runs a
// request on its own thread while the worker is idle (worker_core.hpp), so
// both answer exactly alike.
#pragma once

#include <optional>

#include <caf/all.hpp>

#include "adapters/cache_backend.hpp"
#include "adapters/vector_backend.hpp"

namespace storage {

// Runs `req` on `b` and returns the reply's values; throws store_error
// (invalid_argument for a message that is not a vector operation).
caf::message run_vector_request(vector_backend& b,
                                const caf::type_erased_tuple& req);

// A cache request that is one cache_op (every operation but clear and
// scan), checked against the contract; nullopt for clear, scan or a message
// that is not a cache operation. Throws store_error for a bad key or TTL.
std::optional<cache_op> decode_cache_op(const caf::type_erased_tuple& req);

// The reply to `op` from its result (which must carry no error).
caf::message cache_reply(const cache_op& op, cache_op_result& r);

// Runs `req` on `b`: a cache_op, clear or scan. Throws store_error.
caf::message run_cache_request(cache_backend& b,
                               const caf::type_erased_tuple& req);

}  // namespace storage
