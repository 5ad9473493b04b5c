#include "messages/filter.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "messages/errors.hpp"
#include "messages/json.hpp"
#include "messages/limits.hpp"
#include "messages/validation.hpp"

namespace storage {

using nlohmann::json;

namespace {

struct op_name {
  filter::op op;
  const char* name;
};

constexpr op_name op_names[] = {
    {filter::op::eq, "$eq"},   {filter::op::ne, "$ne"},
    {filter::op::gt, "$gt"},   {filter::op::gte, "$gte"},
    {filter::op::lt, "$lt"},   {filter::op::lte, "$lte"},
    {filter::op::in, "$in"},   {filter::op::nin, "$nin"},
    {filter::op::all, "$and"}, {filter::op::any, "$or"},
};

[[noreturn]] void bad(const std::string& what) {
  throw store_error(errc::invalid_argument, "where: " + what);
}

bool is_range(filter::op o) {
  return o == filter::op::gt || o == filter::op::gte || o == filter::op::lt ||
         o == filter::op::lte;
}

filter parse_node(const json& j, std::size_t level);

std::vector<filter> parse_children(const json& j, const std::string& name,
                                   std::size_t level) {
  if (!j.is_array() || j.empty())
    bad(name + " needs a non-empty array of filters");
  std::vector<filter> out;
  for (auto& c : j) out.push_back(parse_node(c, level + 1));
  return out;
}

// The tree's height (a leaf is 1) and its leaves plus list values. Every
// builder checks both, so no walk over a filter recurses deeper than
// max_filter_depth.
std::size_t depth_of(const filter& f) {
  std::size_t d = 0;
  for (auto& c : f.children()) d = std::max(d, depth_of(c));
  return d + 1;
}

std::size_t terms_of(const filter& f) {
  std::size_t n = f.values().size();
  for (auto& c : f.children()) n += terms_of(c);
  return n;
}

void check_terms(std::size_t terms) {
  if (terms > max_filter_terms)
    bad("more than " + std::to_string(max_filter_terms) +
        " conditions and list values, the limit");
}

filter parse_field(const std::string& field, const json& cond) {
  if (field.empty()) bad("empty field name");
  if (!cond.is_object())
    return filter::eq(field,
                      value_from_json(cond, "where field '" + field + "'"));
  if (cond.empty()) bad("field '" + field + "' has an empty condition");
  std::vector<filter> parts;
  for (auto& [name, arg] : cond.items()) {
    auto what = "where " + field + "." + name;
    if (name == "$in" || name == "$nin") {
      if (!arg.is_array()) bad(name + " on '" + field + "' needs an array");
      std::vector<metadata_value> vs;
      for (auto& v : arg) vs.push_back(value_from_json(v, what));
      parts.push_back(name == "$in" ? filter::in(field, std::move(vs))
                                    : filter::nin(field, std::move(vs)));
      continue;
    }
    auto v = value_from_json(arg, what);
    if (name == "$eq")
      parts.push_back(filter::eq(field, v));
    else if (name == "$ne")
      parts.push_back(filter::ne(field, v));
    else if (name == "$gt")
      parts.push_back(filter::gt(field, v));
    else if (name == "$gte")
      parts.push_back(filter::gte(field, v));
    else if (name == "$lt")
      parts.push_back(filter::lt(field, v));
    else if (name == "$lte")
      parts.push_back(filter::lte(field, v));
    else
      bad("unknown operator '" + name + "' on field '" + field + "'");
  }
  return parts.size() == 1 ? parts.front() : filter::all_of(std::move(parts));
}

filter parse_node(const json& j, std::size_t level) {
  // Checked on the way down: the parse itself must not recurse unbounded.
  if (level > max_filter_depth)
    bad("nested deeper than " + std::to_string(max_filter_depth) +
        " levels, the limit");
  if (!j.is_object()) bad("a filter must be a JSON object");
  if (j.empty()) bad("empty filter");
  std::vector<filter> parts;
  for (auto& [key, val] : j.items()) {
    if (key == "$and")
      parts.push_back(filter::all_of(parse_children(val, key, level)));
    else if (key == "$or")
      parts.push_back(filter::any_of(parse_children(val, key, level)));
    else if (!key.empty() && key[0] == '$')
      bad("unknown operator '" + key + "'");
    else
      parts.push_back(parse_field(key, val));
  }
  // Several keys in one object mean all of them, as in MongoDB.
  return parts.size() == 1 ? parts.front() : filter::all_of(std::move(parts));
}

json node_to_json(const filter& f) {
  if (f.is_logical()) {
    json arr = json::array();
    for (auto& c : f.children()) arr.push_back(node_to_json(c));
    return json{{to_string(f.kind()), arr}};
  }
  json arg;
  if (f.kind() == filter::op::in || f.kind() == filter::op::nin) {
    arg = json::array();
    for (auto& v : f.values()) arg.push_back(value_to_json(v));
  } else {
    arg = value_to_json(f.values().front());
  }
  return json{{f.field(), json{{to_string(f.kind()), arg}}}};
}

}  // namespace

const char* to_string(filter::op o) {
  for (auto& n : op_names)
    if (n.op == o) return n.name;
  return "?";
}

filter filter::parse(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    bad(std::string("not valid JSON: ") + e.what());
  }
  return parse_node(j, 1);
}

filter filter::leaf(op kind, std::string field,
                    std::vector<metadata_value> vs) {
  if (field.empty()) bad("empty field name");
  if (!is_text(field)) not_text(field, "where: a field name");
  for (auto& v : vs) {
    auto* s = std::get_if<std::string>(&v);
    if (s && !is_text(*s))
      not_text(
          *s, "where: " + std::string(to_string(kind)) + " on '" + field + "'");
    if (is_null(v))
      bad(std::string(to_string(kind)) + " on '" + field +
          "': null is not a comparable value");
    if (is_range(kind) && !is_number(v))
      bad(std::string(to_string(kind)) + " on '" + field + "' needs a number");
    // As parse refuses 1e400: no record holds one (validate_batch).
    auto* d = std::get_if<double>(&v);
    if (d && !std::isfinite(*d))
      bad(std::string(to_string(kind)) + " on '" + field +
          "': not a finite number");
  }
  if ((kind == op::in || kind == op::nin) && vs.empty())
    bad(std::string(to_string(kind)) + " on '" + field +
        "' needs a non-empty list");
  check_terms(vs.size());
  filter f;
  f.kind_ = kind;
  f.field_ = std::move(field);
  f.values_ = std::move(vs);
  return f;
}

filter filter::eq(std::string k, metadata_value v) {
  return leaf(op::eq, k, {v});
}
filter filter::ne(std::string k, metadata_value v) {
  return leaf(op::ne, k, {v});
}
filter filter::gt(std::string k, metadata_value v) {
  return leaf(op::gt, k, {v});
}
filter filter::gte(std::string k, metadata_value v) {
  return leaf(op::gte, k, {v});
}
filter filter::lt(std::string k, metadata_value v) {
  return leaf(op::lt, k, {v});
}
filter filter::lte(std::string k, metadata_value v) {
  return leaf(op::lte, k, {v});
}
filter filter::in(std::string k, std::vector<metadata_value> vs) {
  return leaf(op::in, std::move(k), std::move(vs));
}
filter filter::nin(std::string k, std::vector<metadata_value> vs) {
  return leaf(op::nin, std::move(k), std::move(vs));
}

void filter::check_nesting(const std::vector<filter>& children) {
  std::size_t depth = 0, terms = 0;
  for (auto& c : children) {
    depth = std::max(depth, depth_of(c));
    terms += terms_of(c);
  }
  if (depth + 1 > max_filter_depth)
    bad("nested deeper than " + std::to_string(max_filter_depth) +
        " levels, the limit");
  check_terms(terms);
}

filter filter::all_of(std::vector<filter> children) {
  if (children.empty()) bad("$and needs a non-empty array of filters");
  check_nesting(children);
  filter f;
  f.kind_ = op::all;
  f.children_ = std::move(children);
  return f;
}

filter filter::any_of(std::vector<filter> children) {
  if (children.empty()) bad("$or needs a non-empty array of filters");
  check_nesting(children);
  filter f;
  f.kind_ = op::any;
  f.children_ = std::move(children);
  return f;
}

void filter::check(const filter& f) {
  if (!f.is_logical()) {
    // The builders give every other leaf exactly one value.
    if (f.kind_ != op::in && f.kind_ != op::nin && f.values_.size() != 1)
      bad(std::string(to_string(f.kind_)) + " on '" + f.field_ +
          "' needs exactly one value");
    leaf(f.kind_, f.field_, f.values_);
    return;
  }
  if (f.children_.empty())
    bad(f.kind_ == op::all
            ? "an empty filter (a default-constructed storage::filter) is "
              "no condition; leave `where` out to match every record"
            : "$or needs a non-empty array of filters");
  for (auto& c : f.children_) check(c);
  check_nesting(f.children_);
}

// Both numbers: -1, 0 or 1. Two int64s compare exactly, not through double.
int compare_numbers(const metadata_value& a, const metadata_value& b) {
  auto* x = std::get_if<std::int64_t>(&a);
  auto* y = std::get_if<std::int64_t>(&b);
  if (x && y) return *x < *y ? -1 : (*x > *y ? 1 : 0);
  double p = as_double(a), q = as_double(b);
  return p < q ? -1 : (p > q ? 1 : 0);
}

bool values_equal(const metadata_value& a, const metadata_value& b) {
  if (is_number(a) && is_number(b)) return compare_numbers(a, b) == 0;
  if (a.index() != b.index() || is_null(a)) return false;
  return a == b;
}

bool filter::matches(const metadata& m) const {
  switch (kind_) {
    case op::all:
      for (auto& c : children_)
        if (!c.matches(m)) return false;
      return true;
    case op::any:
      for (auto& c : children_)
        if (c.matches(m)) return true;
      return false;
    default:
      break;
  }
  auto it = m.find(field_);
  const metadata_value* stored =
      it == m.end() || is_null(it->second) ? nullptr : &it->second;
  auto in_list = [&] {
    if (!stored) return false;
    for (auto& v : values_)
      if (values_equal(*stored, v)) return true;
    return false;
  };
  switch (kind_) {
    case op::eq:
    case op::in:
      return in_list();
    case op::ne:
    case op::nin:
      return !in_list();
    default: {
      if (!stored || !is_number(*stored)) return false;
      int c = compare_numbers(*stored, values_.front());
      switch (kind_) {
        case op::gt:
          return c > 0;
        case op::gte:
          return c >= 0;
        case op::lt:
          return c < 0;
        default:
          return c <= 0;
      }
    }
  }
}

std::string filter::to_json() const {
  return node_to_json(*this).dump();
}

}  // namespace storage
