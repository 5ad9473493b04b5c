// The error codes every backend shares. Adapters throw store_error; the actor
// layer carries it as a caf::error (caf_support.hpp: to_caf_error and
// from_caf_error; the context holds the message, operation and store).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace storage {

enum class errc : std::uint8_t {
  ok = 0,
  invalid_argument,
  dimension_mismatch,
  collection_not_found,
  conflict,
  type_mismatch,
  backend_unavailable,
  timeout,
  overloaded,
  verification_failed,
  unsupported,
  internal,
};

// The code's contract name, e.g. "dimension_mismatch".
const char* to_string(errc code);
// Inverse of to_string; errc::internal for an unknown name.
errc errc_from_string(const std::string& name);

// An error with its code, the operation that failed and the store it failed
// on. The store URI is always stored redacted (redact_uri) and the message
// scrubbed of every password the process knows (secrets.hpp).
class store_error : public std::runtime_error {
 public:
  store_error(errc code, std::string message, std::string operation = {},
              std::string store = {});

  errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& operation() const noexcept { return operation_; }
  const std::string& store() const noexcept { return store_; }

  // Returns a copy naming `operation` and `store` where not yet named.
  store_error with_context(const std::string& operation,
                           const std::string& store) const;

 private:
  static std::string render(errc code, const std::string& message,
                            const std::string& operation,
                            const std::string& store);

  errc code_;
  std::string message_;
  std::string operation_;
  std::string store_;
};

}  // namespace storage
