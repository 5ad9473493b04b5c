// The exact copies of cosine embeddings (chroma_store.hpp): Chroma answers a
// cosine vector an ulp or so off the values written, so the adapter keeps
// a copy in the record's uri; a copy that no longer agrees with Chroma's
// embedding (another client re-embedded the record) must lose to it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>

#include "adapters/chroma/chroma_store.hpp"
#include "adapters/chroma/chroma_store_http.hpp"
#include "adapters/chroma/chroma_store_reply.hpp"
#include "adapters/factories.hpp"
#include "support/servers.hpp"

namespace storage {
namespace {

using nlohmann::json;

const std::vector<float> fracs{0.3f, 0.4f, 0.5f};
// What Chroma 1.0.1 answers for fracs on a cosine collection.
const std::vector<float> served{0.3f, 0.4f, 0.49999997f};

vector_record row(const json& uri) {
  json cols{{"ids", {"a"}}, {"embeddings", {served}}, {"uris", {uri}}};
  return chroma_record(cols, 0);
}

TEST(chroma_exact, copy_decodes_to_the_values_written) {
  ASSERT_NE(served, fracs);  // else this test shows nothing
  EXPECT_EQ(row(chroma_exact_copy(fracs)).embedding, fracs);
  // Every length modulo 3 bytes: base64 padding of 0, 1 and 2.
  for (std::size_t n = 0; n < 7; ++n) {
    std::vector<float> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(0.1f * float(i) - 0.25f);
    json cols{
        {"ids", {"v"}}, {"embeddings", {v}}, {"uris", {chroma_exact_copy(v)}}};
    EXPECT_EQ(chroma_record(cols, 0).embedding, v) << n << " values";
  }
}

TEST(chroma_exact, anything_but_an_agreeing_copy_keeps_chromas_values) {
  auto prefix = std::string("data:application/x-float32le;base64,");
  for (const json& uri :
       {json(nullptr), json("https://example.com/a.png"), json(prefix),
        json(prefix + "@@@@"), json(chroma_exact_copy({0.3f, 0.4f})),
        json(chroma_exact_copy({0.3f, 0.4f, 0.5f, 0.6f})),
        json(chroma_exact_copy({0.3f, 0.4f, 0.6f})),
        json(chroma_exact_copy({0.3f, 0.4f, std::nanf("")})),
        json(chroma_exact_copy({0.3f, 0.4f, HUGE_VALF})), json(7)})
    EXPECT_EQ(row(uri).embedding, served) << uri.dump();
}

class ChromaExact : public ::testing::Test {
 protected:
  void SetUp() override {
    uri_ = store_uri::parse(test::chroma_uri());
    store_ = make_chroma_store(uri_, 0, 1);
    name_ = "ct-exact-" + std::to_string(getpid());
    store_->drop_collection(name_);
    ASSERT_TRUE(store_->create_collection({name_, 3, metric::cosine}));
  }
  void TearDown() override { store_->drop_collection(name_); }

  // An upsert as a plain Chroma client sends it: no uris.
  void foreign_upsert(const std::string& id, const std::vector<float>& v) {
    chroma_http http(uri_.host(), uri_.port(), 10000);
    std::string base =
        "/api/v2/tenants/" + uri_.param_or("tenant", "default_tenant") +
        "/databases/" + uri_.param_or("database", "default_database") +
        "/collections";
    auto c = http.send("GET", base + "/" + name_);
    ASSERT_EQ(c.status, 200) << c.message;
    json body{{"ids", {id}}, {"embeddings", {v}}};
    auto r = http.send(
        "POST", base + "/" + c.body.at("id").get<std::string>() + "/upsert",
        &body);
    ASSERT_EQ(r.status / 100, 2) << r.message;
  }

  store_uri uri_ = store_uri::parse("chroma://x");
  std::unique_ptr<vector_backend> store_;
  std::string name_;
};

TEST_F(ChromaExact, ReembeddedByAnotherClientAnswersChromasValues) {
  store_->upsert(name_, {{"a", fracs, {}, std::nullopt}});
  ASSERT_EQ(store_->get(name_, {"a"}).at(0).embedding, fracs);
  // Chroma keeps a's old uri, now a stale copy; b has none at all.
  foreign_upsert("a", {3, -4, 12});
  foreign_upsert("b", {1, 1, 0});
  auto got = store_->get(name_, {"a", "b"});
  ASSERT_EQ(got.size(), 2u);
  std::vector<float> a{3, -4, 12}, b{1, 1, 0};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(got[0].embedding[i], a[i], 1e-5);
    EXPECT_NEAR(got[1].embedding[i], b[i], 1e-6);
  }
  // Written through the adapter again, both come back exact.
  store_->upsert(name_, {{"a", fracs, {}, std::nullopt},
                         {"b", {1, 1, 0}, {}, std::nullopt}});
  got = store_->get(name_, {"a", "b"});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].embedding, fracs);
  EXPECT_EQ(got[1].embedding, b);
}

}  // namespace
}  // namespace storage
