// The contract's errors as caf::error values, and type registration. Every
// type a message carries must be registered: CAF 0.17 turns an unregistered
// one into an empty message when it crosses a node, silently.
#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>

#include "messages/errors.hpp"

namespace storage {

// The category of every store error inside CAF.
constexpr caf::atom_value error_category = caf::atom("storage");

caf::error to_caf_error(const store_error& e);

// Any caf::error as a store_error: our own category keeps its code; a
// request timeout becomes timeout; a dead receiver backend_unavailable; the
// rest internal. `operation` and `store` fill what the error does not name.
store_error from_caf_error(const caf::error& e, const std::string& operation,
                           const std::string& store);

// Registers every message type and the error category with `cfg`.
void register_types(caf::actor_system_config& cfg);

}  // namespace storage
