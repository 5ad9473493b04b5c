// Vector store conformance, part 1: collections, upsert/get/delete, batch
// validation and scan. Runs on every vector backend (see backends.hpp).
#include <algorithm>
#include <cmath>
#include <limits>

#include "conformance/backends.hpp"

namespace storage::conformance {
namespace {

class VectorBasic : public vector_fixture {};

bool has_spec(const std::vector<collection_spec>& list,
              const collection_spec& want) {
  return std::find(list.begin(), list.end(), want) != list.end();
}

bool has_name(const std::vector<collection_spec>& list,
              const std::string& name) {
  return std::any_of(list.begin(), list.end(),
                     [&](const collection_spec& s) { return s.name == name; });
}

TEST_P(VectorBasic, FreshCollectionIsEmpty) {
  auto c = create("fresh", 3);
  EXPECT_EQ(await(vs().count(c)), 0u);
  EXPECT_TRUE(search_ids(c, {1, 0, 0}, 10).empty());
  auto page = await(vs().scan(c, "", 10));
  EXPECT_TRUE(page.records.empty());
  EXPECT_TRUE(page.next_cursor.empty());
  EXPECT_TRUE(get_ids(c, {"a", "b"}).empty());
}

TEST_P(VectorBasic, CollectionLifecycle) {
  auto c = collection("life");
  EXPECT_TRUE(await(vs().create_collection({c, 4, metric::cosine})));
  EXPECT_FALSE(await(vs().create_collection({c, 4, metric::cosine})));
  EXPECT_TRUE(fails_with(errc::conflict, [&] {
    await(vs().create_collection({c, 5, metric::cosine}));
  }));
  EXPECT_TRUE(fails_with(errc::conflict, [&] {
    await(vs().create_collection({c, 4, metric::l2}));
  }));
  auto other = collection("life_ip");
  EXPECT_TRUE(await(vs().create_collection({other, 2, metric::ip})));
  auto list = await(vs().list_collections());
  EXPECT_TRUE(has_spec(list, {c, 4, metric::cosine}));
  EXPECT_TRUE(has_spec(list, {other, 2, metric::ip}));
  if (!GetParam().shared_server) {
    EXPECT_EQ(list.size(), 2u);
  }
  EXPECT_TRUE(await(vs().drop_collection(c)));
  EXPECT_FALSE(await(vs().drop_collection(c)));
  list = await(vs().list_collections());
  EXPECT_FALSE(has_name(list, c));
  EXPECT_TRUE(has_spec(list, {other, 2, metric::ip}));
  EXPECT_TRUE(
      fails_with(errc::collection_not_found, [&] { await(vs().count(c)); }));
  // Re-created after a drop: a new, empty collection with the new spec.
  EXPECT_TRUE(await(vs().create_collection({c, 2, metric::l2})));
  EXPECT_EQ(await(vs().count(c)), 0u);
  EXPECT_EQ(await(vs().upsert(c, {rec("x", {1, 2})})), 1u);
  EXPECT_EQ(await(vs().count(c)), 1u);
}

TEST_P(VectorBasic, CollectionNames) {
  for (const std::string& bad : std::vector<std::string>{
           "ab", std::string(64, 'a'), std::string("-abc"), std::string("abc-"),
           std::string("a b"), std::string("na\xc3\xafve"),
           std::string("a/b/c"), std::string("")}) {
    EXPECT_TRUE(
        fails_with(errc::invalid_argument,
                   [&] {
                     await(vs().create_collection({bad, 3, metric::l2}));
                   }))
        << "name '" << bad << "'";
  }
  // The longest and shortest legal names work on every backend.
  auto longest = collection("L");
  longest.resize(63, 'x');
  created_.push_back(longest);
  EXPECT_TRUE(await(vs().create_collection({longest, 3, metric::l2})));
  EXPECT_EQ(await(vs().upsert(longest, {rec("a", {1, 2, 3})})), 1u);
  EXPECT_EQ(await(vs().count(longest)), 1u);
  const std::string shortest = "q7z";
  await(vs().drop_collection(shortest));
  created_.push_back(shortest);
  EXPECT_TRUE(await(vs().create_collection({shortest, 3, metric::l2})));
  EXPECT_TRUE(
      has_spec(await(vs().list_collections()), {shortest, 3, metric::l2}));
  EXPECT_TRUE(fails_with(errc::invalid_argument, [&] {
    await(vs().create_collection({collection("zerodim"), 0, metric::l2}));
  }));
}

TEST_P(VectorBasic, MissingCollection) {
  auto c = collection("missing");
  search_request req;
  req.query = {1, 0, 0};
  EXPECT_TRUE(fails_with(errc::collection_not_found,
                         [&] { await(vs().search(c, req)); }));
  EXPECT_TRUE(
      fails_with(errc::collection_not_found, [&] { await(vs().count(c)); }));
  EXPECT_TRUE(fails_with(errc::collection_not_found, [&] {
    await(vs().upsert(c, {rec("a", {1, 0, 0})}));
  }));
  EXPECT_TRUE(fails_with(errc::collection_not_found,
                         [&] { await(vs().get(c, {"a"})); }));
}

TEST_P(VectorBasic, UpsertGetDelete) {
  auto c = create("crud", 3);
  EXPECT_EQ(await(vs().upsert(
                c, {rec("a", {1, 0, 0}, {{"n", std::int64_t{1}}}),
                    rec("b", {0, 1, 0}, {}, "doc b"), rec("c", {0, 0, 1})})),
            3u);
  EXPECT_EQ(await(vs().count(c)), 3u);
  auto got = await(vs().get(c, {"c", "zz", "a", "b"}));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], rec("c", {0, 0, 1}));
  EXPECT_EQ(got[1], rec("a", {1, 0, 0}, {{"n", std::int64_t{1}}}));
  EXPECT_EQ(got[2], rec("b", {0, 1, 0}, {}, "doc b"));
  EXPECT_EQ(get_ids(c, {"b", "a"}), (std::vector<std::string>{"b", "a"}));
  EXPECT_TRUE(get_ids(c, {"nope"}).empty());
  EXPECT_EQ(search_ids(c, {0, 1, 0}, 1), std::vector<std::string>{"b"});

  EXPECT_EQ(await(vs().remove(c, {"zz", "yy"})), 0u);
  EXPECT_EQ(await(vs().remove(c, {"a", "zz"})), 1u);
  EXPECT_EQ(await(vs().remove(c, {"a"})), 0u);
  EXPECT_EQ(await(vs().count(c)), 2u);
  EXPECT_TRUE(get_ids(c, {"a"}).empty());
  EXPECT_EQ(search_ids(c, {1, 0, 0}, 10), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(await(vs().remove(c, {"b", "c"})), 2u);
  EXPECT_EQ(await(vs().count(c)), 0u);
  EXPECT_TRUE(search_ids(c, {1, 0, 0}, 10).empty());
}

TEST_P(VectorBasic, SameBatchTwiceLeavesOneCopy) {
  auto c = create("twice", 2);
  std::vector<vector_record> batch{rec("a", {1, 0}, {{"k", std::string("v")}}),
                                   rec("b", {0, 1})};
  await(vs().upsert(c, batch));
  await(vs().upsert(c, batch));
  EXPECT_EQ(await(vs().count(c)), 2u);
  EXPECT_EQ(search_ids(c, {1, 0}, 10), (std::vector<std::string>{"a", "b"}));
  auto page = await(vs().scan(c, "", 100));
  ASSERT_EQ(page.records.size(), 2u);
  EXPECT_EQ(page.records[0], batch[0]);
  EXPECT_EQ(page.records[1], batch[1]);
}

TEST_P(VectorBasic, UpsertReplacesWholeRecord) {
  auto c = create("replace", 2);
  await(vs().upsert(
      c, {rec("a", {1, 0}, {{"x", std::int64_t{1}}, {"y", std::string("old")}},
              "first")}));
  await(vs().upsert(c, {rec("a", {0, 1}, {{"y", std::string("new")}})}));
  EXPECT_EQ(await(vs().count(c)), 1u);
  auto got = await(vs().get(c, {"a"}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].embedding, (std::vector<float>{0, 1}));
  EXPECT_EQ(got[0].metadata, (metadata{{"y", std::string("new")}}));
  EXPECT_EQ(got[0].document, std::nullopt);
  // The replaced fields are gone for filters and search too.
  EXPECT_TRUE(
      search_ids(c, {0, 1}, 10, filter::eq("x", std::int64_t{1})).empty());
  search_request req;
  req.query = {0, 1};
  auto hits = await(vs().search(c, req));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NEAR(hits[0].distance, 0.0, 1e-5);
  EXPECT_EQ(hits[0].document, std::nullopt);
  // Replacing with empty metadata clears every key.
  await(vs().upsert(c, {rec("a", {0, 1}, {}, "second")}));
  got = await(vs().get(c, {"a"}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].metadata.empty());
  EXPECT_EQ(got[0].document, std::optional<std::string>("second"));
}

TEST_P(VectorBasic, NullMetadataIsAbsent) {
  auto c = create("nulls", 2);
  await(vs().upsert(
      c,
      {rec("a", {1, 0}, {{"n", std::monostate{}}, {"k", std::int64_t{2}}})}));
  auto got = await(vs().get(c, {"a"}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].metadata, (metadata{{"k", std::int64_t{2}}}));
  EXPECT_EQ(search_ids(c, {1, 0}, 10, filter::ne("n", std::int64_t{0})),
            std::vector<std::string>{"a"});
  EXPECT_TRUE(
      search_ids(c, {1, 0}, 10, filter::in("n", {std::int64_t{0}})).empty());
  // -0.0 comes back as 0.0 everywhere (PostgreSQL's jsonb has no -0).
  await(vs().upsert(c, {rec("z", {0, 1}, {{"d", -0.0}})}));
  got = await(vs().get(c, {"z"}));
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<double>(got[0].metadata["d"]));
  EXPECT_FALSE(std::signbit(std::get<double>(got[0].metadata["d"])));
}

TEST_P(VectorBasic, InvalidBatchWritesNothing) {
  auto c = create("invalid", 3);
  await(vs().upsert(c, {rec("keep", {1, 1, 1})}));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct bad_batch {
    const char* what;
    errc code;
    std::vector<vector_record> batch;
  };
  std::vector<bad_batch> cases{
      {"duplicate id",
       errc::invalid_argument,
       {rec("ok1", {1, 0, 0}), rec("dup", {0, 1, 0}), rec("dup", {0, 0, 1})}},
      {"empty id",
       errc::invalid_argument,
       {rec("ok1", {1, 0, 0}), rec("", {0, 1, 0})}},
      {"NaN",
       errc::invalid_argument,
       {rec("ok1", {1, 0, 0}), rec("nan", {0, nan, 0})}},
      {"+Inf",
       errc::invalid_argument,
       {rec("ok1", {1, 0, 0}), rec("inf", {inf, 0, 0})}},
      {"-Inf",
       errc::invalid_argument,
       {rec("ok1", {1, 0, 0}), rec("ninf", {0, 0, -inf})}},
      {"a length past what float distances hold",
       errc::invalid_argument,
       {rec("ok1", {1, 0, 0}), rec("huge", {2e19f, 0, 0})}},
      {"one record of another length",
       errc::dimension_mismatch,
       {rec("ok1", {1, 0, 0}), rec("short", {0, 1})}},
      {"whole batch of another length",
       errc::dimension_mismatch,
       {rec("ok1", {1, 0, 0, 0}), rec("long", {0, 1, 0, 0})}},
      {"replacing an existing id with a wrong length",
       errc::dimension_mismatch,
       {rec("ok1", {1, 0}), rec("keep", {0, 1})}},
  };
  for (auto& bc : cases) {
    EXPECT_TRUE(fails_with(bc.code, [&] { await(vs().upsert(c, bc.batch)); }))
        << bc.what;
    EXPECT_EQ(await(vs().count(c)), 1u) << bc.what;
    EXPECT_TRUE(
        get_ids(c, {"ok1", "dup", "nan", "inf", "ninf", "short", "long"})
            .empty())
        << bc.what;
    auto kept = await(vs().get(c, {"keep"}));
    ASSERT_EQ(kept.size(), 1u) << bc.what;
    EXPECT_EQ(kept[0].embedding, (std::vector<float>{1, 1, 1})) << bc.what;
  }
  // A query of the wrong length, or k = 0, is rejected too.
  search_request req;
  req.query = {1, 0};
  EXPECT_TRUE(fails_with(errc::dimension_mismatch,
                         [&] { await(vs().search(c, req)); }));
  req.query = {1, 0, 0};
  req.k = 0;
  EXPECT_TRUE(
      fails_with(errc::invalid_argument, [&] { await(vs().search(c, req)); }));
  EXPECT_TRUE(
      fails_with(errc::invalid_argument, [&] { await(vs().get(c, {""})); }));
}

// A collection that fills its last page exactly ends with that page: no
// extra empty one (pgvector gave one; found by an outside audit).
TEST_P(VectorBasic, AFullLastPageIsTheLast) {
  auto c = create("fullpage", 2);
  std::vector<vector_record> batch;
  for (int i = 0; i < 14; ++i)
    batch.push_back(rec("r" + std::to_string(10 + i), {1, 1}));
  await(vs().upsert(c, batch));
  auto first = await(vs().scan(c, "", 7));
  ASSERT_EQ(first.records.size(), 7u);
  EXPECT_EQ(first.next_cursor, "r16");
  auto second = await(vs().scan(c, first.next_cursor, 7));
  ASSERT_EQ(second.records.size(), 7u);
  EXPECT_EQ(second.records.back().id, "r23");
  EXPECT_EQ(second.next_cursor, "");
  auto whole = await(vs().scan(c, "", 14));
  EXPECT_EQ(whole.records.size(), 14u);
  EXPECT_EQ(whole.next_cursor, "");
}

TEST_P(VectorBasic, ScanPagesCoverAllIdsInBytewiseOrder) {
  auto c = create("scan", 2);
  std::vector<std::string> ids{"b",  "B", "a", "A",  "_x", "c10", "c2",
                               "Z9", "0", "~", "aa", "ab", "A-1"};
  for (int i = 0; i < 12; ++i) ids.push_back("id" + std::to_string(i * 7));
  std::vector<vector_record> batch;
  for (std::size_t i = 0; i < ids.size(); ++i)
    batch.push_back(rec(ids[i], {static_cast<float>(i), 1},
                        {{"i", static_cast<std::int64_t>(i)}}));
  await(vs().upsert(c, batch));
  std::vector<vector_record> seen;
  std::string after;
  int pages = 0;
  do {
    auto page = await(vs().scan(c, after, 7));
    EXPECT_LE(page.records.size(), 7u);
    for (auto& r : page.records) seen.push_back(r);
    after = page.next_cursor;
    ASSERT_LT(++pages, 100) << "scan does not end";
  } while (!after.empty());
  EXPECT_GE(pages, 4);
  auto sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string> seen_ids;
  for (auto& r : seen) seen_ids.push_back(r.id);
  EXPECT_EQ(seen_ids, sorted);
  for (auto& r : seen) {
    auto it =
        std::find_if(batch.begin(), batch.end(),
                     [&](const vector_record& b) { return b.id == r.id; });
    ASSERT_NE(it, batch.end());
    EXPECT_EQ(r, *it);
  }
}

TEST_P(VectorBasic, SearchReturnsWholeCollectionWhenKIsLarger) {
  auto c = create("bigk", 2);
  await(vs().upsert(c, {rec("a", {1, 0}), rec("b", {0, 1}), rec("c", {1, 1}),
                        rec("d", {-1, 0}), rec("e", {0, -1})}));
  EXPECT_EQ(search_ids(c, {1, 0}, 100).size(), 5u);
  search_request req;
  req.query = {1, 0};
  req.k = 2;
  req.include.embedding = true;
  auto hits = await(vs().search(c, req));
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].id, "a");
  EXPECT_EQ(hits[0].embedding, (std::vector<float>{1, 0}));
  EXPECT_EQ(hits[1].id, "c");
}

// A cosine index may keep vectors normalized (hnswlib does, inside Chroma):
// what comes back must still be the float32 values written, bit for bit.
TEST_P(VectorBasic, CosineEmbeddingsComeBackExactly) {
  auto c = create("cosexact", 3, metric::cosine);
  const std::vector<float> ones{1.0f, 1.0f, 0.0f};
  const std::vector<float> fracs{0.3f, 0.4f, 0.5f};
  await(vs().upsert(c, {rec("a", ones), rec("b", fracs)}));
  auto got = await(vs().get(c, {"a", "b"}));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].embedding, ones);
  EXPECT_EQ(got[1].embedding, fracs);
  search_request req;
  req.query = ones;
  req.k = 2;
  req.include.embedding = true;
  auto hits = await(vs().search(c, req));
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].id, "a");
  EXPECT_EQ(hits[0].embedding, ones);
  EXPECT_EQ(hits[1].embedding, fracs);
  // 1 - (0.3 + 0.4) / (sqrt(2) * sqrt(0.5)) = 0.3, as computed in double.
  EXPECT_NEAR(hits[0].distance, 0.0, 1e-6);
  EXPECT_NEAR(hits[1].distance, 0.3, 1e-6);
  // Migration reads through scan.
  auto page = await(vs().scan(c, "", 10));
  ASSERT_EQ(page.records.size(), 2u);
  EXPECT_EQ(page.records[0].embedding, ones);
  EXPECT_EQ(page.records[1].embedding, fracs);
}

// PostgreSQL text cannot hold NUL and Chroma speaks JSON, so text that is not
// UTF-8 without NUL is refused on every backend, before anything is written.
TEST_P(VectorBasic, TextThatIsNotUtf8IsInvalidArgumentAndWritesNothing) {
  using namespace std::string_literals;
  auto c = create("nottext", 2);
  auto doc = rec("d", {1, 0});
  doc.document = "a\0b"s;
  auto meta = rec("m", {0, 1});
  meta.metadata["lang"] = "\xC3("s;
  for (auto& bad : {doc, meta, rec("i\xFF"s, {1, 1})})
    EXPECT_TRUE(fails_with(errc::invalid_argument, [&] {
      await(vs().upsert(c, {rec("ok", {1, 1}), bad}));
    })) << bad.id;
  EXPECT_EQ(await(vs().count(c)), 0u);
  // Such an id cannot have been written: read or deleted, it is absent.
  EXPECT_TRUE(await(vs().get(c, {"n\0"s, "i\xFF"s})).empty());
  EXPECT_EQ(await(vs().remove(c, {"n\0"s, "i\xFF"s})), 0u);
  // A filter cannot even be built from such text.
  EXPECT_TRUE(fails_with(errc::invalid_argument, [&] {
    search_request req;
    req.query = {1, 0};
    req.where = filter::eq("lang", "\xC3("s);
    await(vs().search(c, req));
  }));
}

INSTANTIATE_TEST_SUITE_P(Backends, VectorBasic,
                         ::testing::ValuesIn(vector_backends()), backend_name);

}  // namespace
}  // namespace storage::conformance
