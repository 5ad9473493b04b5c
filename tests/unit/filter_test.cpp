// The `where` filter: parsing, canonical JSON, rejection of malformed forms
// and the contract's matching semantics, without any backend.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "messages/errors.hpp"
#include "messages/filter.hpp"

namespace storage {
namespace {

errc parse_error(const std::string& json) {
  try {
    filter::parse(json);
  } catch (const store_error& e) {
    return e.code();
  }
  return errc::ok;
}

TEST(FilterParse, ImplicitAndExplicitEquality) {
  auto f = filter::parse(R"({"genre": "jazz"})");
  EXPECT_EQ(f.kind(), filter::op::eq);
  EXPECT_EQ(f.field(), "genre");
  ASSERT_EQ(f.values().size(), 1u);
  EXPECT_EQ(f.values()[0], metadata_value(std::string("jazz")));
  EXPECT_EQ(f, filter::parse(R"({"genre": {"$eq": "jazz"}})"));
  EXPECT_EQ(f, filter::eq("genre", std::string("jazz")));
}

TEST(FilterParse, EveryLeafOperator) {
  struct c {
    const char* json;
    filter::op op;
  };
  for (auto [json, op] :
       {c{R"({"n": {"$eq": 1}})", filter::op::eq},
        c{R"({"n": {"$ne": 1}})", filter::op::ne},
        c{R"({"n": {"$gt": 1}})", filter::op::gt},
        c{R"({"n": {"$gte": 1.5}})", filter::op::gte},
        c{R"({"n": {"$lt": -1}})", filter::op::lt},
        c{R"({"n": {"$lte": 0}})", filter::op::lte},
        c{R"({"n": {"$in": [1, "a", true, 2.5]}})", filter::op::in},
        c{R"({"n": {"$nin": ["a"]}})", filter::op::nin}}) {
    auto f = filter::parse(json);
    EXPECT_EQ(f.kind(), op) << json;
    EXPECT_EQ(f.field(), "n") << json;
    EXPECT_FALSE(f.is_logical()) << json;
  }
  auto in = filter::parse(R"({"n": {"$in": [1, "a", true, 2.5]}})");
  EXPECT_EQ(in.values(), (std::vector<metadata_value>{
                             std::int64_t{1}, std::string("a"), true, 2.5}));
}

TEST(FilterParse, LogicalAndNested) {
  auto f = filter::parse(
      R"({"$or": [{"a": 1}, {"$and": [{"b": {"$gt": 2}}, {"c": "x"}]}]})");
  EXPECT_EQ(f.kind(), filter::op::any);
  ASSERT_EQ(f.children().size(), 2u);
  EXPECT_EQ(f.children()[1].kind(), filter::op::all);
  EXPECT_EQ(f.children()[1].children().size(), 2u);
  EXPECT_EQ(
      f, filter::any_of({filter::eq("a", std::int64_t{1}),
                         filter::all_of({filter::gt("b", std::int64_t{2}),
                                         filter::eq("c", std::string("x"))})}));
  // Several keys, or several operators on one field, mean all of them.
  auto several = filter::parse(R"({"a": 1, "b": {"$gt": 0, "$lt": 9}})");
  EXPECT_EQ(several.kind(), filter::op::all);
}

TEST(FilterParse, CanonicalJsonRoundTrip) {
  for (const char* json :
       {R"({"a": 1})", R"({"a": {"$ne": "x"}})", R"({"a": {"$gte": 1.0}})",
        R"({"a": {"$lt": -2.5}})", R"({"a": {"$in": [1, "1", false, 0.5]}})",
        R"({"a": {"$nin": ["x"]}})", R"({"b": true})",
        R"({"$and": [{"a": 1}, {"$or": [{"b": 2}, {"c": {"$lte": 3}}]}]})",
        R"({"a": 1, "b": {"$gt": 0, "$lt": 9}})"}) {
    auto f = filter::parse(json);
    auto text = f.to_json();
    auto again = filter::parse(text);
    EXPECT_EQ(again, f) << json << " -> " << text;
    EXPECT_EQ(again.to_json(), text) << "not canonical: " << json;
  }
  // Doubles stay doubles through to_json: 1.0 is not the integer 1.
  auto d = filter::parse(filter::eq("a", 1.0).to_json());
  ASSERT_EQ(d.values().size(), 1u);
  EXPECT_TRUE(std::holds_alternative<double>(d.values()[0]));
}

TEST(FilterParse, RejectsMalformedFilters) {
  for (const char* bad : {
           R"({"a": {"$regex": "x"}})",     // unknown field operator
           R"({"$not": {"a": 1}})",         // unknown logical operator
           R"({"$nor": [{"a": 1}]})",       // unknown logical operator
           R"({"a": {"b": 1}})",            // object as a value
           R"({"a": [1, 2]})",              // array as a value
           R"({"a": {"$eq": [1]}})",        // array as an $eq value
           R"({"a": {"$eq": {"x": 1}}})",   // object as an $eq value
           R"({"a": null})",                // null is not comparable
           R"({"a": {"$ne": null}})",       //
           R"({"a": {"$in": [1, null]}})",  //
           R"({"a": {"$gt": "x"}})",        // range needs a number
           R"({"a": {"$lte": true}})",      //
           R"({"a": {"$in": []}})",         // empty list
           R"({"a": {"$nin": []}})",        //
           R"({"a": {"$in": 1}})",          // $in needs an array
           R"({"a": {"$in": [[1]]}})",      // nested array in $in
           R"({"$and": []})",               // empty logical
           R"({"$or": []})",                //
           R"({"$and": {"a": 1}})",         // logical needs an array
           R"({"$and": [1]})",              // children must be objects
           R"({"a": {}})",                  // empty condition
           R"({})",                         // empty filter
           R"({"": 1})",                    // empty field name
           R"([])",
           R"("a")",
           R"(1)",
           R"(null)",  // not an object
           R"({"a": )",
           R"()",  // not JSON
       }) {
    EXPECT_EQ(parse_error(bad), errc::invalid_argument) << bad;
  }
}

TEST(FilterParse, BuildersApplyTheSameRules) {
  auto invalid = [](auto fn) {
    try {
      fn();
    } catch (const store_error& e) {
      return e.code() == errc::invalid_argument;
    }
    return false;
  };
  EXPECT_TRUE(invalid([] { filter::gt("a", std::string("x")); }));
  EXPECT_TRUE(invalid([] { filter::eq("a", std::monostate{}); }));
  EXPECT_TRUE(invalid([] { filter::in("a", {}); }));
  EXPECT_TRUE(invalid([] { filter::nin("a", {}); }));
  EXPECT_TRUE(invalid([] { filter::all_of({}); }));
  EXPECT_TRUE(invalid([] { filter::any_of({}); }));
  EXPECT_TRUE(invalid([] { filter::eq("", std::int64_t{1}); }));
  EXPECT_FALSE(invalid([] { filter::lt("a", 2.5); }));
}

TEST(FilterParse, OperatorNames) {
  EXPECT_STREQ(to_string(filter::op::eq), "$eq");
  EXPECT_STREQ(to_string(filter::op::nin), "$nin");
  EXPECT_STREQ(to_string(filter::op::all), "$and");
  EXPECT_STREQ(to_string(filter::op::any), "$or");
}

// ---- matches: the contract's semantics table ------------------------------

struct match_case {
  const char* where;
  metadata record;
  bool want;
};

const std::vector<match_case> match_cases{
    // int and double compare numerically
    {R"({"n": 1.0})", {{"n", std::int64_t{1}}}, true},
    {R"({"n": 1})", {{"n", 1.0}}, true},
    {R"({"n": {"$gt": 2}})", {{"n", 2.5}}, true},
    {R"({"n": {"$gte": 2.5}})", {{"n", 2.5}}, true},
    {R"({"n": {"$lt": 2.5}})", {{"n", std::int64_t{2}}}, true},
    {R"({"n": {"$lte": 1.5}})", {{"n", std::int64_t{2}}}, false},
    {R"({"n": {"$in": [3.0]}})", {{"n", std::int64_t{3}}}, true},
    {R"({"n": {"$ne": 1.0}})", {{"n", std::int64_t{1}}}, false},
    // large int64s compare exactly, not through double
    {R"({"n": 9007199254740993})",
     {{"n", std::int64_t{9007199254740992}}},
     false},
    {R"({"n": {"$gt": 9007199254740992}})",
     {{"n", std::int64_t{9007199254740993}}},
     true},
    // other type pairs are unequal
    {R"({"n": 1})", {{"n", std::string("1")}}, false},
    {R"({"n": "1"})", {{"n", std::int64_t{1}}}, false},
    {R"({"n": 1})", {{"n", true}}, false},
    {R"({"n": true})", {{"n", std::int64_t{1}}}, false},
    {R"({"n": {"$ne": "1"}})", {{"n", std::int64_t{1}}}, true},
    {R"({"n": {"$nin": [true]}})", {{"n", std::int64_t{1}}}, true},
    {R"({"n": {"$gt": 0}})", {{"n", std::string("5")}}, false},
    {R"({"n": {"$lt": 9}})", {{"n", true}}, false},
    // mixed $in
    {R"({"n": {"$in": [1, "a"]}})", {{"n", std::string("a")}}, true},
    {R"({"n": {"$in": [1, "a"]}})", {{"n", 1.0}}, true},
    {R"({"n": {"$in": [1, "a"]}})", {{"n", false}}, false},
    // missing or null field
    {R"({"n": 1})", {}, false},
    {R"({"n": {"$gt": 0}})", {}, false},
    {R"({"n": {"$gte": 0}})", {}, false},
    {R"({"n": {"$lt": 0}})", {}, false},
    {R"({"n": {"$lte": 0}})", {}, false},
    {R"({"n": {"$in": [1]}})", {}, false},
    {R"({"n": {"$ne": 1}})", {}, true},
    {R"({"n": {"$nin": [1]}})", {}, true},
    {R"({"n": 1})", {{"n", std::monostate{}}}, false},
    {R"({"n": {"$ne": 1}})", {{"n", std::monostate{}}}, true},
    {R"({"n": {"$nin": [1]}})", {{"n", std::monostate{}}}, true},
    // strings and bools
    {R"({"s": "x"})", {{"s", std::string("x")}}, true},
    {R"({"s": "x"})", {{"s", std::string("X")}}, false},
    {R"({"b": false})", {{"b", false}}, true},
    // logical
    {R"({"$and": [{"a": 1}, {"b": 2}]})",
     {{"a", std::int64_t{1}}, {"b", std::int64_t{2}}},
     true},
    {R"({"$and": [{"a": 1}, {"b": 2}]})", {{"a", std::int64_t{1}}}, false},
    {R"({"$or": [{"a": 1}, {"b": 2}]})", {{"b", std::int64_t{2}}}, true},
    {R"({"$or": [{"a": 1}, {"b": 2}]})", {}, false},
    {R"({"$or": [{"a": {"$ne": 1}}, {"b": 2}]})", {}, true},
    {R"({"$and": [{"$or": [{"a": 1}, {"a": 2}]}, {"c": {"$nin": ["z"]}}]})",
     {{"a", std::int64_t{2}}},
     true},
    {R"({"a": 1, "b": 2})", {{"a", std::int64_t{1}}, {"b", 3.0}}, false},
};

TEST(FilterMatches, SemanticsTable) {
  for (auto& mc : match_cases) {
    auto f = filter::parse(mc.where);
    EXPECT_EQ(f.matches(mc.record), mc.want)
        << mc.where << " on a record of " << mc.record.size() << " fields";
    // The canonical form means the same.
    EXPECT_EQ(filter::parse(f.to_json()).matches(mc.record), mc.want)
        << f.to_json();
  }
}

TEST(FilterMatches, ValueHelpers) {
  EXPECT_TRUE(values_equal(std::int64_t{2}, 2.0));
  EXPECT_FALSE(values_equal(std::string("2"), std::int64_t{2}));
  EXPECT_FALSE(values_equal(std::monostate{}, std::monostate{}));
  EXPECT_FALSE(values_equal(true, std::int64_t{1}));
  EXPECT_TRUE(values_equal(std::string("a"), std::string("a")));
  EXPECT_EQ(compare_numbers(std::int64_t{1}, 1.5), -1);
  EXPECT_EQ(compare_numbers(2.0, std::int64_t{2}), 0);
  EXPECT_EQ(compare_numbers(std::int64_t{-1}, std::int64_t{-2}), 1);
}

// check() holds a filter that did not come from parse or the builders to
// their rules: a default-constructed one is refused, a built one passes.
TEST(FilterCheck, RefusesTheDefaultFilterAndPassesBuiltOnes) {
  EXPECT_THROW(filter::check(filter{}), store_error);
  try {
    filter::check(filter{});
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("empty filter"), std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(filter::check(filter::parse(
      R"({"$or": [{"a": 1}, {"b": {"$in": [1, "x"]}}], "c": {"$lt": 3}})")));
  EXPECT_THROW(filter::check(filter::all_of({filter{}})), store_error);
}

}  // namespace
}  // namespace storage
