// The documented limits of limits.hpp: input beyond them is invalid_argument
// naming the limit — never a stack overflow, an allocation of any size, or a
// partial write — and input at them is accepted.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "messages/filter.hpp"
#include "messages/limits.hpp"
#include "messages/validation.hpp"
#include "runtime/runtime.hpp"
#include "support/test_util.hpp"

namespace storage {
namespace {

std::string nested_and(std::size_t levels) {
  std::string open, close;
  for (std::size_t i = 1; i < levels; ++i) {
    open += R"({"$and":[)";
    close += "]}";
  }
  return open + R"({"a":1})" + close;
}

using test::code_of;

TEST(Limits, FilterNestingIsBounded) {
  EXPECT_NO_THROW(filter::parse(nested_and(max_filter_depth)));
  std::string what;
  EXPECT_EQ(
      code_of([] { filter::parse(nested_and(max_filter_depth + 1)); }, &what),
      errc::invalid_argument);
  EXPECT_NE(what.find("nested deeper than 32"), std::string::npos) << what;
  // Deep enough to overflow any recursive parse: rejected on the way down.
  EXPECT_EQ(code_of([] { filter::parse(nested_and(200000)); }),
            errc::invalid_argument);
  // The C++ builders hold the same limit.
  auto f = filter::eq("a", std::int64_t{1});
  for (std::size_t i = 1; i < max_filter_depth; ++i) f = filter::all_of({f});
  EXPECT_EQ(code_of([&] { filter::any_of({f}); }), errc::invalid_argument);
}

TEST(Limits, FilterSizeIsBounded) {
  std::string list;
  for (std::size_t i = 0; i <= max_filter_terms; ++i)
    list += (i ? "," : "") + std::to_string(i);
  std::string what;
  EXPECT_EQ(
      code_of([&] { filter::parse(R"({"a":{"$in":[)" + list + "]}}"); }, &what),
      errc::invalid_argument);
  EXPECT_NE(what.find("10000"), std::string::npos) << what;
  std::vector<filter> leaves(max_filter_terms + 1,
                             filter::eq("a", std::int64_t{1}));
  EXPECT_EQ(code_of([&] { filter::all_of(leaves); }), errc::invalid_argument);
  leaves.pop_back();
  EXPECT_NO_THROW(filter::all_of(leaves));
}

TEST(Limits, RecordsAndIds) {
  vector_record r{"a", std::vector<float>(max_dimension, 0.5f), {}, {}};
  EXPECT_NO_THROW(validate_batch({r}));
  r.embedding.push_back(0.5f);
  EXPECT_EQ(code_of([&] { validate_batch({r}); }), errc::invalid_argument);
  r.embedding = {1.0f};
  r.id.assign(max_id_bytes, 'x');
  EXPECT_NO_THROW(validate_batch({r}));
  r.id.push_back('x');
  EXPECT_EQ(code_of([&] { validate_batch({r}); }), errc::invalid_argument);
  EXPECT_EQ(code_of([&] { validate_ids({r.id}); }), errc::invalid_argument);
  std::vector<vector_record> many;
  for (std::size_t i = 0; i <= max_batch_records; ++i)
    many.push_back({std::to_string(i), {1.0f}, {}, {}});
  std::string what;
  EXPECT_EQ(code_of([&] { validate_batch(many); }, &what),
            errc::invalid_argument);
  EXPECT_NE(what.find("send them in batches"), std::string::npos) << what;
  std::vector<std::string> ids(max_batch_ids + 1, "x");
  EXPECT_EQ(code_of([&] { validate_ids(ids); }), errc::invalid_argument);
}

TEST(Limits, KeysAndValuesThroughTheFacadeWriteNothing) {
  runtime rt;
  auto cache = rt.open_cache("memory://");
  std::string key(max_key_bytes + 1, 'k');
  EXPECT_EQ(code_of([&] { cache.set(key, "v").get(); }),
            errc::invalid_argument);
  std::string value(max_value_bytes + 1, 'v');
  std::string what;
  EXPECT_EQ(code_of([&] { cache.set("big", value).get(); }, &what),
            errc::invalid_argument);
  EXPECT_NE(what.find("more than the limit"), std::string::npos) << what;
  EXPECT_EQ(code_of([&] {
              cache.mset({{"ok", "1", {}}, {"big", value, {}}}).get();
            }),
            errc::invalid_argument);
  EXPECT_FALSE(cache.exists("ok").get());  // the whole batch was refused
  EXPECT_FALSE(cache.exists("big").get());
  key.pop_back();
  EXPECT_NO_THROW(cache.set(key, "v").get());
  EXPECT_EQ(cache.get(key).get(), std::optional<std::string>("v"));
}

}  // namespace
}  // namespace storage
