#include "messages/errors.hpp"

#include <regex>

namespace storage {

namespace {

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
      message_(redact(message)),
      operation_(std::move(operation)),
      store_(redact(store)) {}

store_error store_error::with_context(const std::string& operation,
                                      const std::string& store) const {
  return store_error(code_, message_,
                     operation_.empty() ? operation : operation_,
                     store_.empty() ? store : store_);
}

std::string store_error::render(errc code, const std::string& message,
                                const std::string& operation,
                                const std::string& store) {
  std::string out = to_string(code);
  out += ": ";
  out += redact(message);
  if (!operation.empty() || !store.empty()) {
    out += " (";
    if (!operation.empty()) out += "operation " + operation;
    if (!operation.empty() && !store.empty()) out += ", ";
    if (!store.empty()) out += "store " + redact(store);
    out += ")";
  }
  return out;
}

std::string redact(const std::string& text) {
  // userinfo with a password: scheme://user:secret@host or scheme://:secret@
  static const std::regex userinfo(
      R"(([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):[^@\s/]*@)");
  // libpq keyword form: password=secret or password='sec ret'
  static const std::regex keyword(R"((password\s*=\s*)('[^']*'|[^\s]+))",
                                  std::regex::icase);
  auto out = std::regex_replace(text, userinfo, "$1:***@");
  return std::regex_replace(out, keyword, "$1***");
}

}  // namespace storage
