// Error codes and their rendering, metric names, and the contract's checks
// that run before anything reaches a backend.
#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "messages/errors.hpp"
#include "messages/records.hpp"
#include "messages/validation.hpp"

namespace storage {
namespace {

const std::vector<std::pair<errc, std::string>> all_codes{
    {errc::ok, "ok"},
    {errc::invalid_argument, "invalid_argument"},
    {errc::dimension_mismatch, "dimension_mismatch"},
    {errc::collection_not_found, "collection_not_found"},
    {errc::conflict, "conflict"},
    {errc::type_mismatch, "type_mismatch"},
    {errc::backend_unavailable, "backend_unavailable"},
    {errc::timeout, "timeout"},
    {errc::overloaded, "overloaded"},
    {errc::verification_failed, "verification_failed"},
    {errc::unsupported, "unsupported"},
    {errc::internal, "internal"},
};

TEST(Errors, EveryCodeHasItsContractName) {
  for (auto& [code, name] : all_codes) {
    EXPECT_EQ(to_string(code), name);
    EXPECT_EQ(errc_from_string(name), code) << name;
  }
  EXPECT_EQ(errc_from_string("no_such_code"), errc::internal);
  EXPECT_EQ(errc_from_string(""), errc::internal);
}

TEST(Errors, WhatNamesCodeOperationAndStore) {
  store_error e(errc::dimension_mismatch, "record 'a' has 2 dimensions",
                "upsert", "faiss:///tmp/v");
  std::string w = e.what();
  EXPECT_EQ(w.rfind("dimension_mismatch", 0), 0u) << w;
  EXPECT_NE(w.find("record 'a' has 2 dimensions"), std::string::npos) << w;
  EXPECT_NE(w.find("upsert"), std::string::npos) << w;
  EXPECT_NE(w.find("faiss:///tmp/v"), std::string::npos) << w;
  EXPECT_EQ(e.code(), errc::dimension_mismatch);
  EXPECT_EQ(e.message(), "record 'a' has 2 dimensions");
  EXPECT_EQ(e.operation(), "upsert");
  EXPECT_EQ(e.store(), "faiss:///tmp/v");
  const std::runtime_error& base = e;
  EXPECT_STREQ(base.what(), e.what());
}

TEST(Errors, WithContextFillsOnlyWhatIsMissing) {
  store_error bare(errc::conflict, "exists");
  EXPECT_EQ(std::string(bare.what()), "conflict: exists");
  auto named = bare.with_context("create", "memory://");
  EXPECT_EQ(named.code(), errc::conflict);
  EXPECT_EQ(named.operation(), "create");
  EXPECT_EQ(named.store(), "memory://");
  EXPECT_NE(std::string(named.what()).find("create"), std::string::npos);
  auto kept = named.with_context("other", "redis://h");
  EXPECT_EQ(kept.operation(), "create");
  EXPECT_EQ(kept.store(), "memory://");
}

TEST(Metric, NamesRoundTrip) {
  for (auto m : {metric::cosine, metric::l2, metric::ip})
    EXPECT_EQ(parse_metric(to_string(m)), m);
  EXPECT_STREQ(to_string(metric::l2), "l2");
  try {
    parse_metric("euclid");
    ADD_FAILURE() << "unknown metric accepted";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::invalid_argument);
  }
}

// ---- validation
// --------------------------------------------------------------

template <class F>
errc code_of(F&& fn) {
  try {
    fn();
  } catch (const store_error& e) {
    return e.code();
  }
  return errc::ok;
}

TEST(Validation, CollectionNames) {
  for (const std::string& ok : std::vector<std::string>{
           "abc", "a_b", "A-9", "docs_2024", "x1x", std::string(63, 'z'),
           std::string("a") + "-" + "b"}) {
    EXPECT_EQ(code_of([&] { validate_collection_name(ok); }), errc::ok) << ok;
  }
  for (const std::string& bad : std::vector<std::string>{
           "", "ab", std::string(64, 'a'), std::string("-abc"),
           std::string("abc-"), std::string("_abc"), std::string("abc_"),
           std::string("a b"), std::string("na\xc3\xafve"), std::string("a.bc"),
           std::string("a/bc"), std::string("ab\n")}) {
    EXPECT_EQ(code_of([&] { validate_collection_name(bad); }),
              errc::invalid_argument)
        << bad;
  }
  EXPECT_EQ(code_of([] {
              validate_collection_spec({"abc", 0, metric::l2});
            }),
            errc::invalid_argument);
  EXPECT_EQ(code_of([] {
              validate_collection_spec({"abc", 3, metric::l2});
            }),
            errc::ok);
  EXPECT_EQ(code_of([] {
              validate_collection_spec({"a", 3, metric::l2});
            }),
            errc::invalid_argument);
}

vector_record r(std::string id, std::vector<float> e) {
  return vector_record{std::move(id), std::move(e), {}, std::nullopt};
}

TEST(Validation, Batches) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  using batch = std::vector<vector_record>;
  EXPECT_EQ(code_of([] { validate_batch({}); }), errc::ok);
  EXPECT_EQ(code_of([] {
              validate_batch({r("a", {1, 2}), r("b", {3, 4})});
            }),
            errc::ok);
  struct c {
    const char* what;
    batch b;
    errc want;
  };
  for (auto& bc : std::vector<c>{
           {"duplicate", {r("a", {1}), r("a", {2})}, errc::invalid_argument},
           {"empty id", {r("", {1})}, errc::invalid_argument},
           {"nan", {r("a", {nan})}, errc::invalid_argument},
           {"inf", {r("a", {1}), r("b", {-inf})}, errc::invalid_argument},
           {"empty embedding", {r("a", {})}, errc::invalid_argument},
           // Each value finite, the length not: 1e19 * sqrt(2) > 9.2e18.
           {"too long", {r("a", {1e19f, 1e19f})}, errc::invalid_argument},
           {"lengths differ",
            {r("a", {1, 2}), r("b", {1})},
            errc::dimension_mismatch},
       }) {
    EXPECT_EQ(code_of([&] { validate_batch(bc.b); }), bc.want) << bc.what;
  }
  EXPECT_EQ(code_of([] { validate_dimension({r("a", {1, 2})}, 2); }), errc::ok);
  EXPECT_EQ(code_of([] {
              validate_dimension({r("a", {1, 2})}, 3);
            }),
            errc::dimension_mismatch);
}

TEST(Validation, IdsKeysTtlsAndSearch) {
  EXPECT_EQ(code_of([] { validate_ids({"a", "b"}); }), errc::ok);
  EXPECT_EQ(code_of([] { validate_ids({"a", ""}); }), errc::invalid_argument);
  EXPECT_EQ(code_of([] { validate_key(""); }), errc::invalid_argument);
  EXPECT_EQ(code_of([] { validate_keys({"k", ""}); }), errc::invalid_argument);
  EXPECT_EQ(code_of([] { validate_ttl(std::nullopt); }), errc::ok);
  EXPECT_EQ(code_of([] { validate_ttl(std::int64_t{1}); }), errc::ok);
  EXPECT_EQ(code_of([] { validate_ttl(std::int64_t{0}); }),
            errc::invalid_argument);
  EXPECT_EQ(code_of([] { validate_ttl(std::int64_t{-1}); }),
            errc::invalid_argument);
  search_request req;
  req.query = {1, 0};
  EXPECT_EQ(code_of([&] { validate_search(req); }), errc::ok);
  req.k = 0;
  EXPECT_EQ(code_of([&] { validate_search(req); }), errc::invalid_argument);
  req.k = 5;
  req.query = {std::numeric_limits<float>::quiet_NaN()};
  EXPECT_EQ(code_of([&] { validate_search(req); }), errc::invalid_argument);
  req.query = {3.4e38f, 0};
  EXPECT_EQ(code_of([&] { validate_search(req); }), errc::invalid_argument);
  req.query = {9e18f, 0};
  EXPECT_EQ(code_of([&] { validate_search(req); }), errc::ok);
}

// The error `fn` throws, or nullopt.
template <class F>
std::optional<store_error> error_of(F&& fn) {
  try {
    fn();
  } catch (const store_error& e) {
    return e;
  }
  return std::nullopt;
}

TEST(Validation, BatchSearchNamesTheQuery) {
  batch_search_request req;
  EXPECT_EQ(code_of([&] { validate_batch_search(req); }),
            errc::invalid_argument)
      << "no query at all";
  req.queries = {{1, 0}, {0, 1}, {0.5f, 0.5f}};
  EXPECT_EQ(code_of([&] { validate_batch_search(req); }), errc::ok);
  req.k = 0;
  EXPECT_EQ(code_of([&] { validate_batch_search(req); }),
            errc::invalid_argument);
  req.k = 3;

  auto bad = req;
  bad.queries[2] = {1, std::numeric_limits<float>::infinity()};
  auto e = error_of([&] { validate_batch_search(bad); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), errc::invalid_argument);
  EXPECT_EQ(e->message().rfind("query 2: ", 0), 0u) << e->message();

  bad = req;
  bad.queries[1] = {};
  e = error_of([&] { validate_batch_search(bad); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), errc::invalid_argument);
  EXPECT_EQ(e->message().rfind("query 1: ", 0), 0u) << e->message();

  bad = req;
  bad.queries[2] = {1, 0, 0};
  e = error_of([&] { validate_batch_search(bad); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), errc::dimension_mismatch);
  EXPECT_EQ(e->message().rfind("query 2: ", 0), 0u) << e->message();

  bad = req;
  bad.queries.assign(max_batch_queries, {1, 0});
  EXPECT_EQ(code_of([&] { validate_batch_search(bad); }), errc::ok);
  bad.queries.push_back({1, 0});
  EXPECT_EQ(code_of([&] { validate_batch_search(bad); }),
            errc::invalid_argument);
}

TEST(Validation, ForQueryNamesOnlyTheQuerysOwnErrors) {
  store_error dim(errc::dimension_mismatch, "too short", "search", "faiss://x");
  auto named = for_query(4, dim);
  EXPECT_EQ(named.code(), errc::dimension_mismatch);
  EXPECT_EQ(named.message(), "query 4: too short");
  EXPECT_EQ(named.operation(), "search");
  EXPECT_EQ(named.store(), "faiss://x");
  store_error missing(errc::collection_not_found, "no such collection");
  EXPECT_EQ(for_query(4, missing).message(), "no such collection");
}

TEST(Records, EqualityIgnoresNullMetadata) {
  vector_record a{"a", {1}, {{"x", std::monostate{}}, {"y", true}}, "d"};
  vector_record b{"a", {1}, {{"y", true}}, "d"};
  EXPECT_EQ(a, b);
  b.document.reset();
  EXPECT_FALSE(a == b);
  EXPECT_EQ(normalized(a.metadata), (metadata{{"y", true}}));
}

}  // namespace
}  // namespace storage
