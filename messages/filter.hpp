// The `where` filter: one JSON form for every backend, parsed and validated
// here, evaluated here for in-process backends and translated by the others.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "messages/value.hpp"

namespace storage {

class filter {
 public:
  enum class op : std::uint8_t { eq, ne, gt, gte, lt, lte, in, nin, all, any };

  filter() = default;

  // Parses the contract's JSON form; throws store_error(invalid_argument)
  // naming what was wrong (unknown operator, malformed value, empty filter,
  // deeper or larger than max_filter_depth/max_filter_terms of limits.hpp).
  static filter parse(const std::string& json);

  // Builders for C++ callers; the same rules as parse apply.
  static filter eq(std::string field, metadata_value v);
  static filter ne(std::string field, metadata_value v);
  static filter gt(std::string field, metadata_value v);
  static filter gte(std::string field, metadata_value v);
  static filter lt(std::string field, metadata_value v);
  static filter lte(std::string field, metadata_value v);
  static filter in(std::string field, std::vector<metadata_value> vs);
  static filter nin(std::string field, std::vector<metadata_value> vs);
  static filter all_of(std::vector<filter> children);  // "$and"
  static filter any_of(std::vector<filter> children);  // "$or"

  // Applies the same rules to a filter that did not come from parse or the
  // builders: a default-constructed one (an empty "$and", which would
  // match everything) or one decoded from a message. Throws as they do.
  static void check(const filter& f);

  // The contract's semantics: a missing field never matches eq/gt/gte/lt/
  // lte/in and always matches ne/nin; ints and doubles compare numerically;
  // other type pairs are unequal.
  bool matches(const metadata& m) const;

  // Canonical JSON text; parse(to_json()) yields an equal filter.
  std::string to_json() const;

  op kind() const { return kind_; }
  const std::string& field() const { return field_; }
  const std::vector<metadata_value>& values() const { return values_; }
  const std::vector<filter>& children() const { return children_; }

  bool is_logical() const { return kind_ == op::all || kind_ == op::any; }

  // For serialization only (messages/inspect.hpp).
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, filter& x);

  friend bool operator==(const filter& a, const filter& b) {
    return a.kind_ == b.kind_ && a.field_ == b.field_ &&
           a.values_ == b.values_ && a.children_ == b.children_;
  }

 private:
  static filter leaf(op kind, std::string field,
                     std::vector<metadata_value> vs);
  static void check_nesting(const std::vector<filter>& children);

  op kind_ = op::all;
  std::string field_;
  std::vector<metadata_value> values_;
  std::vector<filter> children_;
};

// "$eq", "$in", "$and", ...
const char* to_string(filter::op o);

// True when a stored value equals a filter value under the contract's rules.
bool values_equal(const metadata_value& stored, const metadata_value& wanted);

// Both arguments numbers: -1, 0 or 1 (int64 pairs compare exactly).
int compare_numbers(const metadata_value& a, const metadata_value& b);

}  // namespace storage
