// CAF 0.17 inspect overloads for the contract's types, so every message can
// cross nodes. CAF 0.17 knows neither std::optional nor std::variant; the
// wrappers below serialize them as a flag or a tag plus payload.
//
// Floating-point numbers cross as their IEEE-754 bits (little-endian), never
// through CAF 0.17's own float encoding (detail::pack754), which loops
// forever on an infinity -- hanging the middleman's thread --, turns NaN
// and subnormals into other numbers, and costs a loop per number.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include <caf/detail/scope_guard.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>
#include <caf/serializer.hpp>

#include "messages/record_codec.hpp"
#include "messages/records.hpp"

namespace storage {

namespace detail {

// Little-endian bytes of trivially copyable numbers.
template <class T>
std::string to_le_bytes(const T* xs, std::size_t n) {
  std::string out(n * sizeof(T), '\0');
  // An empty vector's data() may be null, and memcpy from null is
  // undefined even for zero bytes (found by UBSan).
  if (n != 0) std::memcpy(out.data(), xs, out.size());
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (std::size_t i = 0; i < n; ++i)
    std::reverse(out.begin() + i * sizeof(T),
                 out.begin() + (i + 1) * sizeof(T));
#endif
  return out;
}

template <class T>
void from_le_bytes(std::string& bytes, T* xs) {
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (std::size_t i = 0; i < bytes.size() / sizeof(T); ++i)
    std::reverse(bytes.begin() + i * sizeof(T),
                 bytes.begin() + (i + 1) * sizeof(T));
#endif
  if (bytes.size() >= sizeof(T))
    std::memcpy(xs, bytes.data(), bytes.size() / sizeof(T) * sizeof(T));
}

// A vector of floats (or doubles) as one string of bits.
template <class T>
struct numbers_field {
  std::vector<T>& ref;
};

template <class I, class T>
typename std::enable_if<I::reads_state, typename I::result_type>::type inspect(
    I& f, numbers_field<T>& x) {
  auto bytes = to_le_bytes(x.ref.data(), x.ref.size());
  return f(bytes);
}

template <class I, class T>
typename std::enable_if<I::writes_state, typename I::result_type>::type inspect(
    I& f, numbers_field<T>& x) {
  std::string bytes;
  auto guard = caf::detail::make_scope_guard([&] {
    x.ref.resize(bytes.size() / sizeof(T));
    from_le_bytes(bytes, x.ref.data());
  });
  return f(bytes);
}

// One double as its bits.
struct double_field {
  double& ref;
};

template <class I>
typename std::enable_if<I::reads_state, typename I::result_type>::type inspect(
    I& f, double_field& x) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &x.ref, sizeof bits);
  return f(bits);
}

template <class I>
typename std::enable_if<I::writes_state, typename I::result_type>::type inspect(
    I& f, double_field& x) {
  std::uint64_t bits = 0;
  auto guard = caf::detail::make_scope_guard(
      [&] { std::memcpy(&x.ref, &bits, sizeof bits); });
  return f(bits);
}

// Many float vectors (batch queries).
struct float_rows_field {
  std::vector<std::vector<float>>& ref;
};

template <class I>
typename std::enable_if<I::reads_state, typename I::result_type>::type inspect(
    I& f, float_rows_field& x) {
  std::vector<std::string> rows;
  for (auto& r : x.ref) rows.push_back(to_le_bytes(r.data(), r.size()));
  return f(rows);
}

template <class I>
typename std::enable_if<I::writes_state, typename I::result_type>::type inspect(
    I& f, float_rows_field& x) {
  std::vector<std::string> rows;
  auto guard = caf::detail::make_scope_guard([&] {
    x.ref.clear();
    for (auto& r : rows) {
      x.ref.emplace_back(r.size() / sizeof(float));
      from_le_bytes(r, x.ref.back().data());
    }
  });
  return f(rows);
}

template <class T>
struct optional_field {
  std::optional<T>& ref;
};

template <class I, class T>
typename std::enable_if<I::reads_state, typename I::result_type>::type inspect(
    I& f, optional_field<T>& x) {
  bool has = x.ref.has_value();
  T tmp = has ? *x.ref : T{};
  return f(has, tmp);
}

template <class I, class T>
typename std::enable_if<I::writes_state, typename I::result_type>::type inspect(
    I& f, optional_field<T>& x) {
  bool has = false;
  T tmp{};
  auto guard = caf::detail::make_scope_guard([&] {
    if (has)
      x.ref = std::move(tmp);
    else
      x.ref.reset();
  });
  return f(has, tmp);
}

// A metadata value as a tag and one payload per alternative.
struct tagged_value {
  std::uint8_t tag = 0;
  bool b = false;
  std::int64_t i = 0;
  double d = 0;
  std::string s;
};

template <class I>
typename I::result_type inspect(I& f, tagged_value& x) {
  double_field d{x.d};
  return f(caf::meta::type_name("metadata_value"), x.tag, x.b, x.i, d, x.s);
}

inline tagged_value to_tagged(const metadata_value& v) {
  tagged_value t;
  t.tag = static_cast<std::uint8_t>(v.index());
  if (auto* p = std::get_if<bool>(&v)) t.b = *p;
  if (auto* p = std::get_if<std::int64_t>(&v)) t.i = *p;
  if (auto* p = std::get_if<double>(&v)) t.d = *p;
  if (auto* p = std::get_if<std::string>(&v)) t.s = *p;
  return t;
}

inline metadata_value from_tagged(tagged_value& t) {
  switch (t.tag) {
    case 1:
      return t.b;
    case 2:
      return t.i;
    case 3:
      return t.d;
    case 4:
      return std::move(t.s);
    default:
      return std::monostate{};
  }
}

// A list of metadata values.
struct values_field {
  std::vector<metadata_value>& ref;
};

template <class I>
typename std::enable_if<I::reads_state, typename I::result_type>::type inspect(
    I& f, values_field& x) {
  std::vector<tagged_value> tagged;
  for (auto& v : x.ref) tagged.push_back(to_tagged(v));
  return f(tagged);
}

template <class I>
typename std::enable_if<I::writes_state, typename I::result_type>::type inspect(
    I& f, values_field& x) {
  std::vector<tagged_value> tagged;
  auto guard = caf::detail::make_scope_guard([&] {
    x.ref.clear();
    for (auto& t : tagged) x.ref.push_back(from_tagged(t));
  });
  return f(tagged);
}

// Metadata as parallel key and value lists.
struct metadata_field {
  metadata& ref;
};

template <class I>
typename std::enable_if<I::reads_state, typename I::result_type>::type inspect(
    I& f, metadata_field& x) {
  std::vector<std::string> keys;
  std::vector<tagged_value> values;
  for (auto& [k, v] : x.ref) {
    keys.push_back(k);
    values.push_back(to_tagged(v));
  }
  return f(keys, values);
}

template <class I>
typename std::enable_if<I::writes_state, typename I::result_type>::type inspect(
    I& f, metadata_field& x) {
  std::vector<std::string> keys;
  std::vector<tagged_value> values;
  auto guard = caf::detail::make_scope_guard([&] {
    x.ref.clear();
    for (std::size_t i = 0; i < keys.size() && i < values.size(); ++i)
      x.ref.emplace(keys[i], from_tagged(values[i]));
  });
  return f(keys, values);
}

}  // namespace detail

}  // namespace storage

namespace storage {

template <class I>
typename I::result_type inspect(I& f, collection_spec& x) {
  auto m = static_cast<std::uint8_t>(x.metric);
  auto guard =
      caf::detail::make_scope_guard([&] { x.metric = static_cast<metric>(m); });
  return f(caf::meta::type_name("collection_spec"), x.name, x.dimension, m,
           x.defer_index);
}

template <class I>
typename I::result_type inspect(I& f, vector_record& x) {
  detail::metadata_field meta{x.metadata};
  detail::optional_field<std::string> doc{x.document};
  detail::numbers_field<float> embedding{x.embedding};
  return f(caf::meta::type_name("vector_record"), x.id, embedding, meta, doc);
}

// A batch of records crosses as one string (record_codec.hpp): found by
// argument-dependent lookup, this overload takes precedence over CAF's
// element-by-element sequence, for message elements and fields alike. A
// message printed for a log shows the records' ids instead of bytes.
template <class I>
typename std::enable_if<I::reads_state, typename I::result_type>::type inspect(
    I& f, std::vector<vector_record>& xs) {
  if constexpr (std::is_base_of<caf::serializer, I>::value) {
    auto bytes = detail::encode_records(xs);
    return f(bytes);
  } else {
    std::vector<std::string> ids;
    for (auto& x : xs) ids.push_back(x.id);
    return f(caf::meta::type_name("records"), ids);
  }
}

template <class I>
typename std::enable_if<I::writes_state, typename I::result_type>::type inspect(
    I& f, std::vector<vector_record>& xs) {
  std::string bytes;
  if (auto err = f(bytes)) return err;
  if (!detail::decode_records(bytes, xs))
    return caf::make_error(caf::sec::invalid_argument,
                           "malformed batch of vector records");
  return {};
}

template <class I>
typename I::result_type inspect(I& f, filter& x) {
  auto kind = static_cast<std::uint8_t>(x.kind_);
  auto guard = caf::detail::make_scope_guard(
      [&] { x.kind_ = static_cast<filter::op>(kind); });
  detail::values_field values{x.values_};
  return f(caf::meta::type_name("filter"), kind, x.field_, values, x.children_);
}

template <class I>
typename I::result_type inspect(I& f, include_fields& x) {
  return f(caf::meta::type_name("include_fields"), x.metadata, x.document,
           x.embedding);
}

template <class I>
typename I::result_type inspect(I& f, search_request& x) {
  detail::optional_field<filter> where{x.where};
  detail::numbers_field<float> query{x.query};
  return f(caf::meta::type_name("search_request"), query, x.k, where,
           x.include);
}

template <class I>
typename I::result_type inspect(I& f, batch_search_request& x) {
  detail::optional_field<filter> where{x.where};
  detail::float_rows_field queries{x.queries};
  return f(caf::meta::type_name("batch_search_request"), queries, x.k, where,
           x.include);
}

template <class I>
typename I::result_type inspect(I& f, search_hit& x) {
  detail::metadata_field meta{x.metadata};
  detail::optional_field<std::string> doc{x.document};
  detail::double_field distance{x.distance};
  detail::numbers_field<float> embedding{x.embedding};
  return f(caf::meta::type_name("search_hit"), x.id, distance, meta, doc,
           embedding);
}

template <class I>
typename I::result_type inspect(I& f, scan_page& x) {
  return f(caf::meta::type_name("scan_page"), x.records, x.next_cursor);
}

template <class I>
typename I::result_type inspect(I& f, cache_entry& x) {
  detail::optional_field<std::int64_t> ttl{x.ttl};
  return f(caf::meta::type_name("cache_entry"), x.key, x.value, ttl);
}

template <class I>
typename I::result_type inspect(I& f, ttl_info& x) {
  detail::optional_field<std::int64_t> ttl{x.ttl};
  return f(caf::meta::type_name("ttl_info"), x.exists, ttl);
}

template <class I>
typename I::result_type inspect(I& f, cache_scan_page& x) {
  return f(caf::meta::type_name("cache_scan_page"), x.entries, x.next_cursor);
}

}  // namespace storage
