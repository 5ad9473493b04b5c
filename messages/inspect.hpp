// CAF 0.17 inspect overloads for the contract's types, so every message can
// cross nodes. CAF 0.17 knows neither std::optional nor std::variant; the
// wrappers below serialize them as a flag or a tag plus payload.
#pragma once

#include <caf/detail/scope_guard.hpp>
#include <caf/meta/type_name.hpp>

#include "messages/records.hpp"

namespace storage {

namespace detail {

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
  return f(caf::meta::type_name("metadata_value"), x.tag, x.b, x.i, x.d, x.s);
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
  return f(caf::meta::type_name("vector_record"), x.id, x.embedding, meta, doc);
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
  return f(caf::meta::type_name("search_request"), x.query, x.k, where,
           x.include);
}

template <class I>
typename I::result_type inspect(I& f, batch_search_request& x) {
  detail::optional_field<filter> where{x.where};
  return f(caf::meta::type_name("batch_search_request"), x.queries, x.k, where,
           x.include);
}

template <class I>
typename I::result_type inspect(I& f, search_hit& x) {
  detail::metadata_field meta{x.metadata};
  detail::optional_field<std::string> doc{x.document};
  return f(caf::meta::type_name("search_hit"), x.id, x.distance, meta, doc,
           x.embedding);
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
