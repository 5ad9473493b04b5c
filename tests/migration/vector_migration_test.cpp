// Offline migration of a vector collection in every direction among faiss,
// pgvector and chroma, through the C++ API.
#include <cstring>
#include <filesystem>

#include "actors/migration/migration.hpp"
#include "migration/migration_support.hpp"
#include "runtime/migrate.hpp"

namespace storage::mig {
namespace {

struct direction {
  std::string from;
  std::string to;
};

std::string uri_of(const std::string& backend, const std::string& dir) {
  if (backend == "faiss") return "faiss://" + dir + "/" + backend;
  if (backend == "pgvector") return test::pgvector_uri();
  return test::chroma_uri();
}

constexpr std::size_t n_records = 2000;
constexpr std::uint32_t dim = 16;

class vector_migration : public ::testing::TestWithParam<direction> {
 protected:
  void SetUp() override {
    dir_ = test::fresh_dir();
    // Two faiss stores would share one directory otherwise.
    from_uri_ = uri_of(GetParam().from, dir_ + "/src");
    to_uri_ = uri_of(GetParam().to, dir_ + "/dst");
    rt_ = std::make_unique<runtime>();
    src_.emplace(rt_->open_vector(from_uri_));
    dst_.emplace(rt_->open_vector(to_uri_));
    name_ = unique_collection("mig");
  }
  void TearDown() override {
    for (auto* s : {&src_, &dst_}) try {
        await((*s)->drop_collection(name_));
      } catch (const std::exception&) {
        // Best effort: the test already reported any failure.
      }
    src_.reset();
    dst_.reset();
    rt_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  migration_options options() {
    migration_options o;
    o.batch = 300;  // several pages and a partial last one
    o.source_name = from_uri_;
    o.target_name = to_uri_;
    return o;
  }

  std::string dir_, from_uri_, to_uri_, name_;
  std::unique_ptr<runtime> rt_;
  std::optional<vector_store> src_, dst_;
};

TEST_P(vector_migration, copies_everything_and_verifies) {
  fill(*src_, name_, dim, metric::ip, n_records);
  auto r = migrate_collection(rt_->system(), src_->actor(), dst_->actor(),
                              name_, options());
  EXPECT_EQ(r.collection, name_);
  EXPECT_EQ(r.copied, n_records);
  EXPECT_EQ(r.source_count, n_records);
  EXPECT_EQ(r.target_count, n_records);
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(await(dst_->count(name_)), n_records);

  // Created with the source's dimension and metric.
  bool found = false;
  for (auto& spec : await(dst_->list_collections()))
    if (spec.name == name_) {
      found = true;
      EXPECT_EQ(spec.dimension, dim);
      EXPECT_EQ(spec.metric, metric::ip);
    }
  EXPECT_TRUE(found);

  // Sample records are byte-identical on both sides.
  std::vector<std::string> sample{"rec-0000000", "rec-0000001", "rec-0000005",
                                  "rec-0000999", "rec-0001999"};
  auto a = await(src_->get(name_, sample));
  auto b = await(dst_->get(name_, sample));
  ASSERT_EQ(a.size(), sample.size());
  ASSERT_EQ(b.size(), sample.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    ASSERT_EQ(a[i].embedding.size(), b[i].embedding.size());
    EXPECT_EQ(std::memcmp(a[i].embedding.data(), b[i].embedding.data(),
                          a[i].embedding.size() * sizeof(float)),
              0)
        << a[i].id;
    EXPECT_EQ(normalized(a[i].metadata), normalized(b[i].metadata)) << a[i].id;
    EXPECT_EQ(a[i].document, b[i].document) << a[i].id;
  }
  EXPECT_FALSE(b[2].document.has_value());  // rec 5 has none

  // The source is only read.
  EXPECT_EQ(await(src_->count(name_)), n_records);
}

TEST_P(vector_migration, target_with_another_spec_is_conflict_and_untouched) {
  fill(*src_, name_, dim, metric::cosine, 50);
  await(dst_->create_collection({name_, dim + 1, metric::cosine}));
  EXPECT_TRUE(test::fails_with(errc::conflict, [&] {
    migrate_collection(rt_->system(), src_->actor(), dst_->actor(), name_,
                       options());
  }));
  EXPECT_EQ(await(dst_->count(name_)), 0u);
}

// Doubles of 17 significant digits: Chroma's server parses them to within
// an ulp or two, which verification allows (migration_digest.hpp) -- the
// migration completes instead of failing on every such record forever.
TEST_P(vector_migration, doubles_of_seventeen_digits_verify) {
  await(src_->create_collection({name_, 2, metric::l2}));
  std::vector<vector_record> batch;
  for (int i = 0; i < 300; ++i) {
    vector_record r{"d" + std::to_string(i),
                    {static_cast<float>(i), 1},
                    {{"f", i / 7.0}, {"k", 123456789.123456789 + i}},
                    std::nullopt};
    batch.push_back(std::move(r));
  }
  await(src_->upsert(name_, batch));
  auto r = migrate_collection(rt_->system(), src_->actor(), dst_->actor(),
                              name_, options());
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.target_count, 300u);
  auto got = await(dst_->get(name_, {"d3"}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NEAR(std::get<double>(got[0].metadata.at("f")), 3 / 7.0, 1e-15);
}

const std::vector<direction> directions = {
    {"faiss", "pgvector"},  {"faiss", "chroma"}, {"pgvector", "faiss"},
    {"pgvector", "chroma"}, {"chroma", "faiss"}, {"chroma", "pgvector"},
};

INSTANTIATE_TEST_SUITE_P(all, vector_migration, ::testing::ValuesIn(directions),
                         [](const ::testing::TestParamInfo<direction>& info) {
                           return info.param.from + "_to_" + info.param.to;
                         });

}  // namespace
}  // namespace storage::mig
