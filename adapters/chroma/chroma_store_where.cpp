#include "adapters/chroma/chroma_store_where.hpp"

#include <cmath>
#include <cstdint>

namespace storage {

using nlohmann::json;

namespace {

// 2^63: every double at or beyond it is an integer outside int64.
constexpr double int64_limit = 9223372036854775808.0;

bool fractional(const metadata_value& v) {
  auto* d = std::get_if<double>(&v);
  return d && std::isfinite(*d) && std::floor(*d) != *d;
}

// Integral doubles are sent as integers: Chroma compares an integer bound
// exactly with both int and float fields.
json scalar(const metadata_value& v) {
  if (auto* d = std::get_if<double>(&v)) {
    if (std::isfinite(*d) && std::floor(*d) == *d && *d >= -int64_limit &&
        *d < int64_limit)
      return static_cast<std::int64_t>(*d);
    return *d;
  }
  if (auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (auto* b = std::get_if<bool>(&v)) return *b;
  return std::get<std::string>(v);
}

json leaf(const std::string& field, const char* op, json v) {
  return json{{field, json{{op, std::move(v)}}}};
}

json join(const char* op, json children) {
  if (children.size() == 1) return children.front();
  return json{{op, std::move(children)}};
}

// One comparison against a non-integral double d. Chroma compares float
// fields with d exactly but integer fields with trunc(d), so an integer
// bound (floor or ceil of d, exact for both kinds) repairs the integers
// without changing the answer for floats.
json fractional_leaf(const std::string& f, filter::op o, double d) {
  auto lo = static_cast<std::int64_t>(std::floor(d));
  auto hi = static_cast<std::int64_t>(std::ceil(d));
  switch (o) {
    case filter::op::eq:  // no integer equals d
      return join("$and", json::array({leaf(f, "$eq", d), leaf(f, "$gt", lo),
                                       leaf(f, "$lt", hi)}));
    case filter::op::ne:
      return join("$or", json::array({leaf(f, "$ne", d), leaf(f, "$lte", lo),
                                      leaf(f, "$gte", hi)}));
    case filter::op::lt:
      return join("$or", json::array({leaf(f, "$lt", d), leaf(f, "$lte", lo)}));
    case filter::op::lte:
      return join("$and",
                  json::array({leaf(f, "$lte", d), leaf(f, "$lt", hi)}));
    case filter::op::gt:
      return join("$or", json::array({leaf(f, "$gt", d), leaf(f, "$gte", hi)}));
    default:  // gte
      return join("$and",
                  json::array({leaf(f, "$gte", d), leaf(f, "$gt", lo)}));
  }
}

const char* chroma_op(filter::op o) {
  switch (o) {
    case filter::op::eq:
      return "$eq";
    case filter::op::ne:
      return "$ne";
    case filter::op::gt:
      return "$gt";
    case filter::op::gte:
      return "$gte";
    case filter::op::lt:
      return "$lt";
    default:
      return "$lte";
  }
}

// $in as an $or (and $nin as an $and) of one list per JSON type, plus one
// fractional comparison per non-integral double.
json list_leaf(const std::string& f, bool negated,
               const std::vector<metadata_value>& values) {
  json ints = json::array(), floats = json::array(), strings = json::array(),
       bools = json::array(), parts = json::array();
  for (auto& v : values) {
    if (fractional(v)) {
      parts.push_back(fractional_leaf(
          f, negated ? filter::op::ne : filter::op::eq, std::get<double>(v)));
      continue;
    }
    json s = scalar(v);
    if (s.is_boolean())
      bools.push_back(s);
    else if (s.is_string())
      strings.push_back(s);
    else if (s.is_number_float())
      floats.push_back(s);
    else
      ints.push_back(s);
  }
  const char* op = negated ? "$nin" : "$in";
  for (auto* l : {&ints, &floats, &strings, &bools})
    if (!l->empty()) parts.push_back(leaf(f, op, std::move(*l)));
  return join(negated ? "$and" : "$or", std::move(parts));
}

// A leaf Chroma cannot be trusted to narrow: a key in Chroma's own
// namespace (its document column answers for "chroma:document"), or a number
// beyond 2^53, where the contract compares ints and doubles in double and
// Chroma exactly. Such a leaf selects everything and the caller's
// filter::matches decides.
bool widened(const filter& f) {
  constexpr double two53 = 9007199254740992.0;
  if (f.field().rfind("chroma:", 0) == 0) return true;
  for (auto& v : f.values()) {
    if (auto* d = std::get_if<double>(&v); d && !(std::fabs(*d) < two53))
      return true;
    constexpr std::int64_t int53 = std::int64_t{1} << 53;
    if (auto* i = std::get_if<std::int64_t>(&v);
        i && (*i > int53 || *i < -int53))
      return true;
  }
  return false;
}

}  // namespace

json chroma_where(const filter& f) {
  switch (f.kind()) {
    case filter::op::all:
    case filter::op::any: {
      const bool all = f.kind() == filter::op::all;
      json children = json::array();
      for (auto& c : f.children()) {
        json w = chroma_where(c);
        if (!w.is_null())
          children.push_back(std::move(w));
        else if (!all)
          return nullptr;  // one branch selects everything
      }
      if (children.empty()) return nullptr;
      return join(all ? "$and" : "$or", std::move(children));
    }
    default:
      break;
  }
  if (widened(f)) return nullptr;
  switch (f.kind()) {
    case filter::op::in:
    case filter::op::nin:
      return list_leaf(f.field(), f.kind() == filter::op::nin, f.values());
    default: {
      auto& v = f.values().front();
      if (fractional(v))
        return fractional_leaf(f.field(), f.kind(), std::get<double>(v));
      return leaf(f.field(), chroma_op(f.kind()), scalar(v));
    }
  }
}

}  // namespace storage
