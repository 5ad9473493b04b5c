// The integer rules of cache `incr`, shared by the cache adapters so every
// backend accepts and rejects exactly the same stored values.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

#include "messages/errors.hpp"

namespace storage {

// The whole string must be a signed 64-bit decimal in canonical form: "12",
// "-3", not "1.5", " 1", "+1", "007", "-0" or "" — exactly what Redis's INCR
// accepts, so every backend agrees.
inline std::optional<std::int64_t> parse_cache_int(const std::string& text) {
  std::int64_t n = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, n);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  if (std::to_string(n) != text) return std::nullopt;
  return n;
}

// The stored value plus `by`, or type_mismatch / invalid_argument. Overflow is
// invalid_argument: the stored value is a valid integer, the increment is what
// cannot be applied.
inline std::int64_t apply_cache_incr(const std::optional<std::string>& stored,
                                     std::int64_t by, const std::string& key) {
  std::int64_t base = 0;
  if (stored) {
    auto n = parse_cache_int(*stored);
    if (!n)
      throw store_error(errc::type_mismatch,
                        "value of key '" + key + "' is not an integer");
    base = *n;
  }
  std::int64_t out = 0;
  if (__builtin_add_overflow(base, by, &out))
    throw store_error(errc::invalid_argument,
                      "incr of key '" + key + "' by " + std::to_string(by) +
                          " would overflow a 64-bit integer");
  return out;
}

}  // namespace storage
