#include "messages/errors.hpp"

#include "messages/secrets.hpp"
#include "messages/store_uri.hpp"

namespace storage {

namespace {

// A store is named by its URI or by a configured name.
std::string shown_store(const std::string& store) {
  return store.find("://") != std::string::npos ? redact_uri(store)
                                                : scrub_secrets(store);
}

constexpr const char* names[] = {
    "ok",
    "invalid_argument",
    "dimension_mismatch",
    "collection_not_found",
    "conflict",
    "type_mismatch",
    "backend_unavailable",
    "timeout",
    "overloaded",
    "verification_failed",
    "unsupported",
    "internal",
};

}  // namespace

const char* to_string(errc code) {
  auto i = static_cast<std::size_t>(code);
  return i < std::size(names) ? names[i] : "internal";
}

errc errc_from_string(const std::string& name) {
  for (std::size_t i = 0; i < std::size(names); ++i)
    if (name == names[i]) return static_cast<errc>(i);
  return errc::internal;
}

store_error::store_error(errc code, std::string message, std::string operation,
                         std::string store)
    : std::runtime_error(render(code, message, operation, store)),
      code_(code),
      message_(scrub_secrets(message)),
      operation_(std::move(operation)),
      store_(shown_store(store)) {}

store_error store_error::with_context(const std::string& operation,
                                      const std::string& store) const {
  return store_error(code_, message_,
                     operation_.empty() ? operation : operation_,
                     store_.empty() ? store : store_);
}

std::string store_error::render(errc code, const std::string& message,
                                const std::string& operation,
                                const std::string& store) {
  // The store first: redacting it remembers its password, which the
  // message may quote.
  auto shown = shown_store(store);
  std::string out = to_string(code);
  out += ": ";
  out += scrub_secrets(message);
  if (!operation.empty() || !store.empty()) {
    out += " (";
    if (!operation.empty()) out += "operation " + operation;
    if (!operation.empty() && !store.empty()) out += ", ";
    if (!store.empty()) out += "store " + shown;
    out += ")";
  }
  return out;
}

}  // namespace storage
