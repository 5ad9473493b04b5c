// Metadata values: null, bool, int64, double, string. A null value means the
// same as an absent field, so metadata maps never store one after
// normalization.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>

namespace storage {

using metadata_value =
    std::variant<std::monostate, bool, std::int64_t, double, std::string>;

// std::map keeps keys sorted, which gives every backend one canonical order.
using metadata = std::map<std::string, metadata_value>;

inline bool is_null(const metadata_value& v) {
  return std::holds_alternative<std::monostate>(v);
}

inline bool is_number(const metadata_value& v) {
  return std::holds_alternative<std::int64_t>(v) ||
         std::holds_alternative<double>(v);
}

inline double as_double(const metadata_value& v) {
  if (auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

// Removes null values: a null field and an absent field are the same record.
// And -0.0 is 0.0, as PostgreSQL's jsonb and Chroma keep it.
inline metadata normalized(metadata m) {
  for (auto it = m.begin(); it != m.end();) {
    if (is_null(it->second)) {
      it = m.erase(it);
      continue;
    }
    if (auto* d = std::get_if<double>(&it->second); d && *d == 0) *d = 0.0;
    ++it;
  }
  return m;
}

}  // namespace storage
