// How Chroma 1.0.1 evaluates a `where` clause, as a small model to check
// adapters/chroma/chroma_store_where.cpp against filter::matches. Written from
// Chroma's source at tag cli-1.0.1 (the server the npm bindings 1.0.1 run):
// rust/types/src/where_parsing.rs (parse_where) and
// rust/segment/src/sqlite_metadata.rs (IntoSqliteExpr).
//
// Parsing (anything else is rejected with 400):
// - every object has exactly one key; "$and" / "$or" take an array of
//   clauses (any length); any other key is a metadata key;
// - {"k": v} with a string, bool or number v means $eq;
// - {"k": {"$op": v}}: one operator; strings and bools take $eq / $ne only,
//   numbers also $gt $gte $lt $lte; $in / $nin take a non-empty array whose
//   first element's JSON type decides: strings, bools, ints (every element
//   an int64) or floats (every element any number, read as f64);
// - an integer is an int64 ("5"), a float has a '.' or an exponent ("5.0");
//   an integer beyond int64 is neither.
// Evaluation: a record is one row per metadata key (its document one more,
// key "chroma:document"), the value in the column of its type (string, int,
// float, bool). A comparison reads only the column of its operand's type:
// $eq $gt $gte $lt $lte $in hold if the key's row compares true; $ne $nin
// hold unless it does, so a missing key never matches the first group and
// always matches the second. An int operand i is also compared with the
// float column as (f64)i, a float operand f with the int column as (i64)f
// (Rust's `as`: toward zero, saturating): the first group holds if either
// comparison does, $ne / $nin only if both do. $and / $or: all / any child.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "messages/value.hpp"

namespace chroma_model {

using nlohmann::json;

// Chroma would answer 400: the clause is not valid where syntax.
struct rejected : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class column { str, i64, f64, boolean };

struct operand {
  column col = column::str;
  std::string s;
  std::int64_t i = 0;
  double f = 0;
  bool b = false;
};

enum class cmp { eq, ne, gt, gte, lt, lte };

// Rust's `f as i64`.
inline std::int64_t rust_as_i64(double f) {
  if (std::isnan(f)) return 0;
  if (f >= 9223372036854775808.0)
    return std::numeric_limits<std::int64_t>::max();
  if (f <= -9223372036854775808.0)
    return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(f);
}

// serde_json's is_i64 / as_i64.
inline std::optional<std::int64_t> as_i64(const json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned())
    return v.get<std::int64_t>();
  if (v.is_number_unsigned() &&
      v.get<std::uint64_t>() <=
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return static_cast<std::int64_t>(v.get<std::uint64_t>());
  return std::nullopt;
}

// Rows of one record: key -> value, in the column of the value's type.
using rows = storage::metadata;

template <class T>
bool compare(const T& a, const T& b, cmp c) {
  switch (c) {
    case cmp::eq:
      return a == b;
    case cmp::ne:
      return a != b;
    case cmp::gt:
      return a > b;
    case cmp::gte:
      return a >= b;
    case cmp::lt:
      return a < b;
    default:
      return a <= b;
  }
}

// Whether the key's row, read in the operand's column, compares true
// (positive comparison; $ne is built as "no row equal").
inline bool row_holds(const rows& r, const std::string& key, const operand& o,
                      cmp c) {
  auto it = r.find(key);
  if (it == r.end()) return false;
  const auto& v = it->second;
  switch (o.col) {
    case column::str: {
      auto* s = std::get_if<std::string>(&v);
      return s && compare(*s, o.s, c);
    }
    case column::boolean: {
      auto* b = std::get_if<bool>(&v);
      return b && compare(*b, o.b, c);
    }
    case column::i64: {
      auto* i = std::get_if<std::int64_t>(&v);
      return i && compare(*i, o.i, c);
    }
    default: {
      auto* d = std::get_if<double>(&v);
      return d && compare(*d, o.f, c);
    }
  }
}

// The other numeric column's operand (Where::Metadata's alternative).
inline std::optional<operand> alternative(const operand& o) {
  operand a;
  if (o.col == column::i64) {
    a.col = column::f64;
    a.f = static_cast<double>(o.i);
    return a;
  }
  if (o.col == column::f64) {
    a.col = column::i64;
    a.i = rust_as_i64(o.f);
    return a;
  }
  return std::nullopt;
}

inline bool primitive(const rows& r, const std::string& key, const operand& o,
                      cmp c) {
  auto alt = alternative(o);
  if (c == cmp::ne) {
    bool ok = !row_holds(r, key, o, cmp::eq);
    return alt ? ok && !row_holds(r, key, *alt, cmp::eq) : ok;
  }
  bool ok = row_holds(r, key, o, c);
  return alt ? ok || row_holds(r, key, *alt, c) : ok;
}

inline bool in_set(const rows& r, const std::string& key,
                   const std::vector<operand>& set) {
  for (auto& o : set)
    if (row_holds(r, key, o, cmp::eq)) return true;
  return false;
}

inline bool set_op(const rows& r, const std::string& key,
                   const std::vector<operand>& set, bool negated) {
  std::vector<operand> alts;
  for (auto& o : set)
    if (auto a = alternative(o)) alts.push_back(*a);
  bool hit = in_set(r, key, set),
       alt_hit = !alts.empty() && in_set(r, key, alts);
  // In: either column; NotIn: neither.
  return negated ? !hit && !alt_hit : hit || alt_hit;
}

inline operand scalar(const json& v) {
  operand o;
  if (v.is_string()) {
    o.s = v.get<std::string>();
  } else if (v.is_boolean()) {
    o.col = column::boolean;
    o.b = v.get<bool>();
  } else if (v.is_number_float()) {
    o.col = column::f64;
    o.f = v.get<double>();
  } else if (auto i = as_i64(v)) {
    o.col = column::i64;
    o.i = *i;
  } else {
    throw rejected("not a string, bool, float or int64: " + v.dump());
  }
  return o;
}

inline std::vector<operand> set_operands(const json& arr) {
  if (arr.empty()) throw rejected("empty $in/$nin list");
  std::vector<operand> out;
  const json& first = arr.front();
  for (auto& v : arr) {
    operand o;
    if (first.is_string()) {
      if (!v.is_string()) throw rejected("mixed list: " + arr.dump());
      o.s = v.get<std::string>();
    } else if (first.is_boolean()) {
      if (!v.is_boolean()) throw rejected("mixed list: " + arr.dump());
      o.col = column::boolean;
      o.b = v.get<bool>();
    } else if (first.is_number_float()) {
      if (!v.is_number()) throw rejected("mixed list: " + arr.dump());
      o.col = column::f64;
      o.f = v.get<double>();  // as_f64 reads any number
    } else if (as_i64(first)) {
      auto i = as_i64(v);
      if (!i) throw rejected("mixed list: " + arr.dump());
      o.col = column::i64;
      o.i = *i;
    } else {
      throw rejected("bad list: " + arr.dump());
    }
    out.push_back(o);
  }
  return out;
}

// Evaluates `where` for one record; throws rejected where Chroma would
// answer 400. Every child is evaluated (no short cut), so a rejected
// clause anywhere is found.
inline bool matches(const json& where, const rows& r) {
  if (!where.is_object() || where.size() != 1)
    throw rejected("a clause must have exactly one key: " + where.dump());
  const std::string& key = where.begin().key();
  const json& value = where.begin().value();
  if (key == "$and" || key == "$or") {
    if (!value.is_array()) throw rejected(key + " needs an array");
    bool all = true, any = false;
    for (auto& c : value) {
      bool m = matches(c, r);
      all = all && m;
      any = any || m;
    }
    return key == "$and" ? all : any;
  }
  if (!value.is_object()) return primitive(r, key, scalar(value), cmp::eq);
  if (value.size() != 1)
    throw rejected("an operator object needs one operator: " + value.dump());
  const std::string& op = value.begin().key();
  const json& arg = value.begin().value();
  if (arg.is_array()) {
    if (op != "$in" && op != "$nin") throw rejected(op + " takes no list");
    return set_op(r, key, set_operands(arg), op == "$nin");
  }
  operand o = scalar(arg);
  bool numeric = o.col == column::i64 || o.col == column::f64;
  if (op == "$eq") return primitive(r, key, o, cmp::eq);
  if (op == "$ne") return primitive(r, key, o, cmp::ne);
  if (!numeric) throw rejected(op + " needs a number");
  if (op == "$gt") return primitive(r, key, o, cmp::gt);
  if (op == "$gte") return primitive(r, key, o, cmp::gte);
  if (op == "$lt") return primitive(r, key, o, cmp::lt);
  if (op == "$lte") return primitive(r, key, o, cmp::lte);
  throw rejected("unknown operator " + op);
}

}  // namespace chroma_model
