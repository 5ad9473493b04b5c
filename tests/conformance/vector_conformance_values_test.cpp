// Vector store conformance, part 5: values no backend can keep as given
// are refused on every one, and a repeated id is answered once.
#include <algorithm>
#include <cmath>
#include <limits>

#include "conformance/backends.hpp"

namespace storage::conformance {
namespace {

class VectorValues : public vector_fixture {};

// What no backend can keep as given: an empty metadata key (every read of
// the record then failed), a NaN or infinite number (pgvector refused it,
// faiss and Chroma lost it, filters matched it differently). Refused
// whole; a filter on such a number cannot be built.
TEST_P(VectorValues, EmptyMetadataKeysAndNonFiniteNumbersAreInvalid) {
  auto c = create("nonfinite", 2);
  auto empty_key = rec("k", {1, 0});
  empty_key.metadata[""] = std::int64_t{1};
  auto nan = rec("n", {0, 1});
  nan.metadata["x"] = std::nan("");
  auto inf = rec("i", {1, 1});
  inf.metadata["x"] = -std::numeric_limits<double>::infinity();
  for (auto& bad : {empty_key, nan, inf})
    EXPECT_TRUE(fails_with(errc::invalid_argument, [&] {
      await(vs().upsert(c, {rec("ok", {1, 1}), bad}));
    })) << bad.id;
  EXPECT_EQ(await(vs().count(c)), 0u);
  EXPECT_TRUE(fails_with(errc::invalid_argument,
                         [] { filter::eq("x", std::nan("")); }));
  EXPECT_TRUE(fails_with(errc::invalid_argument, [] {
    filter::lt("x", std::numeric_limits<double>::infinity());
  }));
}

// An id asked twice is answered once, at every pool size.
TEST_P(VectorValues, GetAnswersARepeatedIdOnce) {
  auto c = create("repeated", 2);
  await(vs().upsert(c, {rec("a", {1, 0}), rec("b", {0, 1})}));
  auto got = await(vs().get(c, {"a", "a", "b", "a", "zz"}));
  std::vector<std::string> ids;
  for (auto& r : got) ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, VectorValues,
                         ::testing::ValuesIn(vector_backends()), backend_name);

}  // namespace
}  // namespace storage::conformance
