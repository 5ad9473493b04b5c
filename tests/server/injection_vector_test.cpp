// Hostile strings through the runtime, on every vector backend: as ids,
// metadata keys, metadata values and filter values they are data — each
// matches exactly itself and nothing else; as collection names they are
// rejected with invalid_argument; and the database is intact afterwards.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "runtime/runtime.hpp"
#include "server_support.hpp"

namespace storage::srv {
namespace {

std::vector<std::string> hostile() {
  std::string long_text;
  for (int i = 0; i < 2000; ++i) long_text += "'\"\\$" + std::to_string(i % 10);
  return {
      "'",
      "\"",
      "'; DROP TABLE storage_collections; --",
      "\"; DROP TABLE storage_collections; --",
      "Robert'); DELETE FROM storage_collections WHERE ('1'='1",
      "\\",
      "\\'",
      "a\\\"b",
      "$1",
      "$$; SELECT pg_sleep(5); $$",
      "${HOME}",
      "{}",
      "{\"$gt\": \"\"}",
      "$ne",
      "%s%n%x",
      "* ? [a-z] %_",
      "a.b",
      "a->>'b'",
      "\xce\xa9\xe2\x89\x88\xc3\xa7\xe2\x88\x9a \xf0\x9f\x98\x80 \xe4\xb8\xad",
      "line\nbreak\ttab\r",
      " leading and trailing ",
      long_text,
  };
}

struct backend {
  std::string name;
  std::function<std::string(const std::string& dir)> uri;
};

class VectorInjection : public ::testing::TestWithParam<backend> {};

std::vector<float> emb(std::size_t i) {
  return {static_cast<float>(i), 1.0f, -static_cast<float>(i) / 7.0f, 0.5f};
}

std::vector<std::string> ids_of(const std::vector<search_hit>& hs) {
  std::vector<std::string> out;
  for (auto& h : hs) out.push_back(h.id);
  return out;
}

TEST_P(VectorInjection, HostileStringsAreOnlyData) {
  auto dir = test::fresh_dir();
  runtime rt;
  auto vs = rt.open_vector(GetParam().uri(dir));
  auto coll = "inject_" + test::unique_token();
  auto sentinel = "sentinel_" + test::unique_token();
  struct cleanup {
    vector_store& vs;
    std::vector<std::string> names;
    std::string dir;
    ~cleanup() {
      for (auto& n : names) try {
          test::await(vs.drop_collection(n));
        } catch (const std::exception&) {
          // Best effort: the test already reported any failure.
        }
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } clean{vs, {coll, sentinel}, dir};

  ASSERT_TRUE(test::await(vs.create_collection({sentinel, 4, metric::l2})));
  std::vector<vector_record> plain;
  for (std::size_t i = 0; i < 5; ++i)
    plain.push_back({"s" + std::to_string(i),
                     emb(i),
                     {{"s", std::string("x")}},
                     std::nullopt});
  ASSERT_EQ(test::await(vs.upsert(sentinel, plain)), 5u);

  auto hs = hostile();
  ASSERT_TRUE(test::await(vs.create_collection({coll, 4, metric::l2})));
  std::vector<vector_record> recs;
  for (std::size_t i = 0; i < hs.size(); ++i) {
    vector_record r;
    r.id = hs[i];
    r.embedding = emb(i);
    r.metadata["s"] = hs[i];
    r.metadata[hs[i]] = std::int64_t(i);
    r.document = hs[i];
    recs.push_back(r);
  }
  ASSERT_EQ(test::await(vs.upsert(coll, recs)), hs.size());
  ASSERT_EQ(test::await(vs.count(coll)), hs.size());

  for (std::size_t i = 0; i < hs.size(); ++i) {
    SCOPED_TRACE("hostile string #" + std::to_string(i));
    auto got = test::await(vs.get(coll, {hs[i]}));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], recs[i]);

    search_request req;
    req.query = emb(i);
    req.k = 50;
    // As a filter value: exactly the record holding it.
    req.where = filter::eq("s", hs[i]);
    EXPECT_EQ(ids_of(test::await(vs.search(coll, req))),
              std::vector<std::string>{hs[i]});
    req.where = filter::in("s", {hs[i], std::string("nothing")});
    EXPECT_EQ(ids_of(test::await(vs.search(coll, req))),
              std::vector<std::string>{hs[i]});
    // As a metadata key.
    req.where = filter::eq(hs[i], std::int64_t(i));
    EXPECT_EQ(ids_of(test::await(vs.search(coll, req))),
              std::vector<std::string>{hs[i]});
    // Almost the value matches nothing; $ne excludes only it.
    req.where = filter::eq("s", hs[i] + "x");
    EXPECT_TRUE(test::await(vs.search(coll, req)).empty());
    req.where = filter::ne("s", hs[i]);
    EXPECT_EQ(test::await(vs.search(coll, req)).size(), hs.size() - 1);
  }
  // Nothing was matched or deleted by a pattern.
  EXPECT_EQ(test::await(vs.get(coll, {"%", "*", "' OR '1'='1", "_"})).size(),
            0u);

  // Deleting by a hostile value and a hostile id removes exactly one each.
  EXPECT_EQ(test::await(vs.remove_where(coll, filter::eq("s", hs[2]))), 1u);
  EXPECT_EQ(test::await(vs.remove(coll, {hs[0]})), 1u);
  EXPECT_EQ(test::await(vs.remove(coll, {"' OR '1'='1"})), 0u);
  EXPECT_EQ(test::await(vs.count(coll)), hs.size() - 2);

  // As collection names: invalid_argument for every operation.
  search_request q;
  q.query = emb(0);
  for (auto& name : hs) {
    SCOPED_TRACE("collection name " + name.substr(0, 60));
    EXPECT_TRUE(test::fails_with(errc::invalid_argument, [&] {
      test::await(vs.create_collection({name, 4, metric::l2}));
    }));
    EXPECT_TRUE(test::fails_with(errc::invalid_argument, [&] {
      test::await(vs.drop_collection(name));
    }));
    EXPECT_TRUE(test::fails_with(errc::invalid_argument,
                                 [&] { test::await(vs.count(name)); }));
    EXPECT_TRUE(test::fails_with(errc::invalid_argument,
                                 [&] { test::await(vs.upsert(name, plain)); }));
    EXPECT_TRUE(test::fails_with(errc::invalid_argument,
                                 [&] { test::await(vs.search(name, q)); }));
    EXPECT_TRUE(test::fails_with(errc::invalid_argument,
                                 [&] { test::await(vs.get(name, {"s1"})); }));
  }

  // The database is intact: both collections listed, counts unchanged.
  std::set<std::string> names;
  for (auto& s : test::await(vs.list_collections())) names.insert(s.name);
  EXPECT_TRUE(names.count(coll));
  EXPECT_TRUE(names.count(sentinel));
  EXPECT_EQ(test::await(vs.count(sentinel)), 5u);
  EXPECT_EQ(test::await(vs.count(coll)), hs.size() - 2);
  EXPECT_EQ(test::await(vs.get(sentinel, {"s0", "s4"})).size(), 2u);
  if (GetParam().name == "pgvector") {
    EXPECT_EQ(psql("SELECT count(*) FROM storage_collections WHERE name IN ('" +
                   coll + "', '" + sentinel + "')"),
              "2");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Backends, VectorInjection,
    ::testing::Values(
        backend{"faiss", [](const std::string& d) { return "faiss://" + d; }},
        backend{"pgvector",
                [](const std::string&) { return test::pgvector_uri(); }},
        backend{"chroma",
                [](const std::string&) { return test::chroma_uri(); }}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace storage::srv
