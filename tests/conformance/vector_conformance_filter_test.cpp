// Vector store conformance, part 3: every `where` operator, missing fields,
// numeric and mixed-type comparisons, and delete by filter — the same answer
// on every backend.
#include <algorithm>
#include <set>

#include "conformance/backends.hpp"

namespace storage::conformance {
namespace {

using id_set = std::set<std::string>;

class VectorFilter : public vector_fixture {
 protected:
  // r1..r6 on distinct points; r4 has no metadata, r6 a null `n`.
  std::string seed() {
    auto c = create("where", 2);
    await(vs().upsert(
        c, {rec("r1", {1, 0},
                {{"n", std::int64_t{1}}, {"s", std::string("x")}, {"b", true}}),
            rec("r2", {0, 1}, {{"n", 2.5}, {"s", std::string("y")}}),
            rec("r3", {1, 1}, {{"n", std::string("1")}, {"b", false}}),
            rec("r4", {-1, 0}),
            rec("r5", {0, -1},
                {{"n", std::int64_t{3}}, {"s", std::string("x")}, {"b", true}}),
            rec("r6", {-1, -1},
                {{"n", std::monostate{}}, {"s", std::string("z")}})}));
    return c;
  }

  id_set matching(const std::string& c, const filter& f) {
    auto ids = search_ids(c, {0.5f, 0.5f}, 10, f);
    return id_set(ids.begin(), ids.end());
  }
};

struct where_case {
  const char* json;
  id_set want;
};

const id_set all6{"r1", "r2", "r3", "r4", "r5", "r6"};

const std::vector<where_case> where_cases{
    // Equality, implicit and explicit; int and double compare numerically.
    {R"({"n": 1})", {"r1"}},
    {R"({"n": {"$eq": 1}})", {"r1"}},
    {R"({"n": {"$eq": 1.0}})", {"r1"}},
    {R"({"n": 2.5})", {"r2"}},
    {R"({"n": "1"})", {"r3"}},
    {R"({"s": "x"})", {"r1", "r5"}},
    {R"({"b": true})", {"r1", "r5"}},
    {R"({"b": false})", {"r3"}},
    // Type mismatches are unequal: "1" != 1, true != 1, 1 != true.
    {R"({"b": {"$eq": 1}})", {}},
    {R"({"n": {"$eq": true}})", {}},
    {R"({"b": {"$ne": 1}})", all6},
    {R"({"n": {"$ne": 1}})", {"r2", "r3", "r4", "r5", "r6"}},
    {R"({"s": {"$ne": "x"}})", {"r2", "r3", "r4", "r6"}},
    // Ranges compare numbers only; stored 2.5 > 2, a string never matches.
    {R"({"n": {"$gt": 2}})", {"r2", "r5"}},
    {R"({"n": {"$gt": 2.5}})", {"r5"}},
    {R"({"n": {"$gte": 2.5}})", {"r2", "r5"}},
    {R"({"n": {"$lt": 2.5}})", {"r1"}},
    {R"({"n": {"$lte": 2.5}})", {"r1", "r2"}},
    {R"({"n": {"$lte": 1}})", {"r1"}},
    {R"({"n": {"$gt": 1, "$lt": 3}})", {"r2"}},
    // $in / $nin, mixed types allowed.
    {R"({"n": {"$in": [1, "1"]}})", {"r1", "r3"}},
    {R"({"n": {"$in": [3.0, "zz", false]}})", {"r5"}},
    {R"({"n": {"$nin": [1, "1"]}})", {"r2", "r4", "r5", "r6"}},
    {R"({"s": {"$in": ["y", "z"]}})", {"r2", "r6"}},
    {R"({"s": {"$nin": ["x", "y", "z"]}})", {"r3", "r4"}},
    // A missing (or null) field never matches $eq $gt $gte $lt $lte $in and
    // always matches $ne $nin.
    {R"({"zz": 1})", {}},
    {R"({"zz": {"$gt": 0}})", {}},
    {R"({"zz": {"$gte": 0}})", {}},
    {R"({"zz": {"$lt": 0}})", {}},
    {R"({"zz": {"$lte": 0}})", {}},
    {R"({"zz": {"$in": [1, "a"]}})", {}},
    {R"({"zz": {"$ne": 1}})", all6},
    {R"({"zz": {"$nin": [1, "a"]}})", all6},
    // Logical operators, nested, and several keys meaning all of them.
    {R"({"$and": [{"s": "x"}, {"n": {"$gt": 1}}]})", {"r5"}},
    {R"({"$or": [{"s": "y"}, {"b": false}]})", {"r2", "r3"}},
    {R"({"$or": [{"$and": [{"s": "x"}, {"n": {"$lt": 2}}]}, {"s": "z"}]})",
     {"r1", "r6"}},
    {R"({"$and": [{"$or": [{"n": 1}, {"n": 3}]}, {"b": true}]})", {"r1", "r5"}},
    {R"({"s": "x", "b": true})", {"r1", "r5"}},
    {R"({"$and": [{"zz": {"$ne": 1}}, {"s": {"$nin": ["x"]}}]})",
     {"r2", "r3", "r4", "r6"}},
    {R"({"$or": [{"zz": 1}, {"n": {"$in": [2.5]}}]})", {"r2"}},
};

TEST_P(VectorFilter, EveryOperator) {
  auto c = seed();
  for (auto& wc : where_cases) {
    auto f = filter::parse(wc.json);
    EXPECT_EQ(matching(c, f), wc.want) << wc.json;
  }
}

TEST_P(VectorFilter, BuiltFiltersMatchParsedOnes) {
  auto c = seed();
  EXPECT_EQ(matching(c, filter::eq("n", 1.0)), (id_set{"r1"}));
  EXPECT_EQ(matching(c, filter::gt("n", std::int64_t{2})),
            (id_set{"r2", "r5"}));
  EXPECT_EQ(matching(c, filter::in("n", {std::int64_t{1}, std::string("1")})),
            (id_set{"r1", "r3"}));
  EXPECT_EQ(matching(c, filter::any_of({filter::eq("s", std::string("y")),
                                        filter::lte("n", 1.0)})),
            (id_set{"r1", "r2"}));
}

TEST_P(VectorFilter, FilteredSearchKeepsOrderAndLimit) {
  auto c = seed();
  // Query (1,0): r1 0, r3 1, r2 2, r5 2, r4 4, r6 5 (l2).
  auto odd_ones = filter::nin("s", {std::string("q")});  // matches all 6
  EXPECT_EQ(search_ids(c, {1, 0}, 4, odd_ones),
            (std::vector<std::string>{"r1", "r3", "r2", "r5"}));
  EXPECT_EQ(search_ids(c, {1, 0}, 10, filter::parse(R"({"s": "x"})")),
            (std::vector<std::string>{"r1", "r5"}));
  EXPECT_EQ(search_ids(c, {1, 0}, 1, filter::parse(R"({"s": "x"})")),
            (std::vector<std::string>{"r1"}));
}

TEST_P(VectorFilter, DeleteByWhere) {
  auto c = seed();
  EXPECT_EQ(await(vs().remove_where(c, filter::parse(R"({"s": "x"})"))), 2u);
  EXPECT_EQ(await(vs().count(c)), 4u);
  EXPECT_TRUE(get_ids(c, {"r1", "r5"}).empty());
  EXPECT_EQ(await(vs().remove_where(c, filter::parse(R"({"s": "x"})"))), 0u);
  EXPECT_EQ(await(vs().remove_where(c, filter::parse(R"({"zz": 5})"))), 0u);
  // $ne on a missing field matches: r3 and r4 lack s; r6 has s "z".
  EXPECT_EQ(
      await(vs().remove_where(c, filter::parse(R"({"s": {"$ne": "y"}})"))), 3u);
  EXPECT_EQ(get_ids(c, {"r1", "r2", "r3", "r4", "r5", "r6"}),
            std::vector<std::string>{"r2"});
  EXPECT_EQ(await(vs().remove_where(c, filter::parse(R"({"n": {"$gte": 2}})"))),
            1u);
  EXPECT_EQ(await(vs().count(c)), 0u);
}

// Found by fuzz_where_filter on Chroma: numbers beyond 2^53 compare in
// double across ints and doubles, and a key in a backend's own namespace is
// just a key no record has.
TEST_P(VectorFilter, HugeNumbersAndForeignKeys) {
  auto c = create("huge", 2);
  await(vs().upsert(
      c, {rec("max", {1, 0}, {{"n", std::int64_t{9223372036854775807}}}, "doc"),
          rec("big", {0, 1}, {{"n", std::int64_t{9007199254740993}}}, "doc"),
          rec("one", {1, 1}, {{"n", std::int64_t{1}}})}));
  auto found = [&](const char* where) {
    auto ids = search_ids(c, {0.5f, 0.5f}, 10, filter::parse(where));
    return id_set(ids.begin(), ids.end());
  };
  EXPECT_EQ(found(R"({"n": {"$lt": 1e19}})"), (id_set{"max", "big", "one"}));
  EXPECT_EQ(found(R"({"n": 9007199254740992.0})"), (id_set{"big"}));
  EXPECT_EQ(found(R"({"n": {"$gte": 1e66}})"), id_set{});
  EXPECT_EQ(found(R"({"chroma:document": {"$ne": "doc"}})"),
            (id_set{"max", "big", "one"}));
  EXPECT_EQ(found(R"({"chroma:document": "doc"})"), id_set{});
  EXPECT_EQ(await(vs().remove_where(
                c, filter::parse(R"({"chroma:document": {"$ne": "x"}})"))),
            3u);
}

TEST_P(VectorFilter, DeleteByWhereOnMissingCollection) {
  EXPECT_TRUE(fails_with(errc::collection_not_found, [&] {
    await(vs().remove_where(collection("nowhere"),
                            filter::parse(R"({"s": "x"})")));
  }));
}

TEST_P(VectorFilter, MalformedWhereIsInvalidArgument) {
  // A C++ caller builds the filter first: parse is where these fail.
  for (const char* bad :
       {R"({"n": {"$regex": "a"}})", R"({"$not": {"n": 1}})",
        R"({"n": {"$gt": "a"}})", R"({"n": {"$in": []}})",
        R"({"n": {"$in": 1}})", R"({"n": null})", R"({"n": {"$eq": [1]}})",
        R"({"n": {"$eq": {"a": 1}}})", R"({"$and": []})", R"({"$or": {}})",
        R"({})", R"([])", R"("n")", R"({"n": )"}) {
    EXPECT_TRUE(fails_with(errc::invalid_argument, [&] { filter::parse(bad); }))
        << bad;
  }
  // The store still answers afterwards.
  auto c = seed();
  EXPECT_EQ(await(vs().count(c)), 6u);
}

// A default-constructed filter is an empty "$and", which parse refuses: a
// C++ caller gets the same error from every backend, and nothing is
// deleted (on faiss:// it once matched every record).
TEST_P(VectorFilter, AnEmptyFilterIsInvalidArgumentAndDeletesNothing) {
  auto c = seed();
  EXPECT_TRUE(fails_with(errc::invalid_argument,
                         [&] { await(vs().remove_where(c, filter{})); }));
  search_request req;
  req.query = {1, 0};
  req.k = 3;
  req.where = filter{};
  EXPECT_TRUE(
      fails_with(errc::invalid_argument, [&] { await(vs().search(c, req)); }));
  EXPECT_EQ(await(vs().count(c)), 6u);
}

INSTANTIATE_TEST_SUITE_P(Backends, VectorFilter,
                         ::testing::ValuesIn(vector_backends()), backend_name);

}  // namespace
}  // namespace storage::conformance
