// Verification of vector collections that cannot be fooled: each kind of
// difference (missing, extra, mismatched record; collection on one side
// only) reported as such with its id, completion recorded only after
// verification passed, and a rerun that repairs. From faiss to faiss,
// pgvector and chroma.
#include <filesystem>

#include "actors/migration/checkpoint_file.hpp"
#include "actors/migration/migration.hpp"
#include "actors/migration/migration_verifier.hpp"
#include "migration/migration_support.hpp"
#include "runtime/migrate.hpp"

namespace storage::mig {
namespace {

constexpr std::uint32_t dim = 8;
constexpr std::size_t n_records = 300;

std::string target_uri(const std::string& backend, const std::string& dir) {
  if (backend == "faiss") return "faiss://" + dir + "/dst";
  if (backend == "pgvector") return test::pgvector_uri();
  return test::chroma_uri();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class vector_verification : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = test::fresh_dir();
    from_ = "faiss://" + dir_ + "/src";
    to_ = target_uri(GetParam(), dir_);
    rt_ = std::make_unique<runtime>();
    src_.emplace(rt_->open_vector(from_));
    dst_.emplace(rt_->open_vector(to_));
    name_ = unique_collection("ver");
    cp_ = dir_ + "/cp.json";
  }
  void TearDown() override {
    for (auto& c : dropped_)
      for (auto* s : {&src_, &dst_}) try {
          await((*s)->drop_collection(c));
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
    o.batch = 64;  // several pages
    o.backoff = 10ms;
    o.source_name = from_;
    o.target_name = to_;
    return o;
  }
  migration_result migrate(const migration_options& o) {
    return migrate_collection(rt_->system(), src_->actor(), dst_->actor(),
                              name_, o);
  }
  verify_report verify() {
    return verify_collection(rt_->system(), src_->actor(), dst_->actor(), name_,
                             50, from_, to_);
  }
  // A collection both stores may hold, dropped at the end.
  std::string collection(const std::string& base) {
    dropped_.push_back(unique_collection(base));
    return dropped_.back();
  }
  // The target differs from the source by one record of each kind.
  void spoil_target() {
    await(dst_->remove(name_, {"rec-0000007"}));
    auto changed = make_record(3, dim);
    changed.metadata["tag"] = std::string("changed");
    await(dst_->upsert(name_, {changed}));
    auto extra = make_record(90000, dim);
    extra.id = "zz-extra";
    await(dst_->upsert(name_, {extra}));
  }

  std::string dir_, from_, to_, name_, cp_;
  std::vector<std::string> dropped_;
  std::unique_ptr<runtime> rt_;
  std::optional<vector_store> src_, dst_;
};

TEST_P(vector_verification, each_difference_is_reported_by_kind) {
  name_ = collection("kinds");
  fill(*src_, name_, dim, metric::l2, n_records);
  fill(*dst_, name_, dim, metric::l2, n_records);
  ASSERT_TRUE(verify().passed());
  spoil_target();
  auto r = verify();
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.source_count, n_records);
  EXPECT_EQ(r.target_count, n_records);
  EXPECT_EQ(r.missing.count, 1u);
  EXPECT_EQ(r.missing.first, std::vector<std::string>{"rec-0000007"});
  EXPECT_EQ(r.extra.count, 1u);
  EXPECT_EQ(r.extra.first, std::vector<std::string>{"zz-extra"});
  EXPECT_EQ(r.mismatched.count, 1u);
  EXPECT_EQ(r.mismatched.first, std::vector<std::string>{"rec-0000003"});
  try {
    require_verified(r, "collection '" + name_ + "'");
    ADD_FAILURE() << "expected verification_failed";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::verification_failed);
    EXPECT_TRUE(
        contains(e.what(), "collection '" + name_ +
                               "': 1 missing (rec-0000007), 1 extra "
                               "(zz-extra), 1 mismatched (rec-0000003)"))
        << e.what();
  }
}

// CLI.md: a mismatch "names up to ten differing ids" -- in all, not ten of
// each kind; and a component changed by far less than 1e-6 is a change
// (an absolute 1e-6 let it pass; both found by an outside audit).
TEST_P(vector_verification, names_ten_ids_in_all_and_sees_small_changes) {
  name_ = collection("ten");
  fill(*src_, name_, dim, metric::l2, n_records);
  fill(*dst_, name_, dim, metric::l2, n_records);
  std::vector<std::string> gone;
  std::vector<vector_record> changed, extra;
  for (int i = 0; i < 12; ++i) {
    gone.push_back(make_record(i, dim).id);
    auto c = make_record(100 + i, dim);
    c.embedding[1] *= 1.000002f;  // a change far below 1e-6
    changed.push_back(c);
    auto x = make_record(90000 + i, dim);
    x.id = "zz-extra-" + std::to_string(10 + i);
    extra.push_back(x);
  }
  await(dst_->remove(name_, gone));
  await(dst_->upsert(name_, changed));
  await(dst_->upsert(name_, extra));
  auto r = verify();
  EXPECT_EQ(r.missing.count, 12u);
  EXPECT_EQ(r.extra.count, 12u);
  EXPECT_EQ(r.mismatched.count, 12u);
  auto message = describe(r, "collection '" + name_ + "'");
  std::size_t named = 0;
  for (const auto* prefix : {"rec-", "zz-extra-"})
    for (auto at = message.find(prefix); at != std::string::npos;
         at = message.find(prefix, at + 1))
      ++named;
  EXPECT_EQ(named, 10u) << message;
  EXPECT_TRUE(contains(message, "12 missing (rec-0000000, ")) << message;
  EXPECT_TRUE(contains(message, "12 extra (...)")) << message;
}

TEST_P(vector_verification, a_collection_on_one_side_only_fails) {
  name_ = collection("both");
  auto only_src = collection("onlysrc");
  auto only_dst = collection("onlydst");
  fill(*src_, name_, dim, metric::cosine, 20);
  fill(*dst_, name_, dim, metric::cosine, 20);
  fill(*src_, only_src, dim, metric::cosine, 12);
  fill(*dst_, only_dst, dim, metric::cosine, 3);
  std::vector<verification_result> seen;
  try {
    // Named: the server stores hold other tests' collections too.
    verify_stores(*rt_, from_, to_, {name_, only_src, only_dst}, options(),
                  [&](const verification_result& v) { seen.push_back(v); });
    ADD_FAILURE() << "expected verification_failed";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::verification_failed);
    EXPECT_TRUE(contains(e.what(), "collection '" + only_src +
                                       "' does not exist on the target: 12 "
                                       "missing (rec-0000000, "))
        << e.what();
    EXPECT_TRUE(contains(e.what(), "collection '" + only_dst +
                                       "' does not exist on the source: 3 "
                                       "extra (rec-0000000, rec-0000001, "
                                       "rec-0000002)"))
        << e.what();
    EXPECT_FALSE(contains(e.what(), "collection '" + name_ + "'")) << e.what();
  }
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_TRUE(seen[0].report.passed());
  EXPECT_FALSE(seen[1].report.passed());
  EXPECT_EQ(seen[1].report.missing.count, 12u);
  EXPECT_EQ(seen[1].report.missing.first.size(), 10u);
  EXPECT_FALSE(seen[2].report.passed());
  EXPECT_EQ(seen[2].report.extra.count, 3u);
  // Verification changes nothing.
  EXPECT_EQ(await(dst_->count(only_dst)), 3u);
  bool target_has_it = false;
  for (auto& s : await(dst_->list_collections()))
    if (s.name == only_src) target_has_it = true;
  EXPECT_FALSE(target_has_it);
}

TEST_P(vector_verification,
       a_failed_run_is_not_completed_and_its_rerun_repairs) {
  name_ = collection("rerun");
  fill(*src_, name_, dim, metric::l2, n_records);
  auto extra = make_record(90000, dim);
  extra.id = "zz-intruder";
  fill(*dst_, name_, dim, metric::l2, 0);
  await(dst_->upsert(name_, {extra}));
  auto o = options();
  o.checkpoint_file = cp_;
  // The first run copies, then only reports the target's extra record.
  try {
    migrate(o);
    ADD_FAILURE() << "expected verification_failed";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::verification_failed);
    EXPECT_TRUE(contains(e.what(), "1 extra (zz-intruder)")) << e.what();
  }
  auto entry = checkpoint_entry_of(cp_, name_);
  EXPECT_EQ(entry["copied_all"], true);
  EXPECT_EQ(entry["completed"], false);
  EXPECT_EQ(entry["copied"], n_records);
  // Meanwhile the target lost one record and another one changed.
  spoil_target();
  auto second = migrate(o);
  EXPECT_EQ(second.copied, 2u);    // rec 3 and rec 7, written again
  EXPECT_EQ(second.repaired, 4u);  // zz-intruder, zz-extra, rec 3 and rec 7
  EXPECT_TRUE(second.verified);
  EXPECT_EQ(second.target_count, n_records);
  EXPECT_EQ(checkpoint_entry_of(cp_, name_)["completed"], true);
  EXPECT_TRUE(verify().passed());
  auto got = await(dst_->get(name_, {"rec-0000003", "rec-0000007"}));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(normalized(got[0].metadata),
            normalized(make_record(3, dim).metadata));
  // The source is only read.
  EXPECT_EQ(await(src_->count(name_)), n_records);
  EXPECT_EQ(await(src_->get(name_, {"rec-0000007"})).size(), 1u);

  auto third = migrate(o);
  EXPECT_EQ(third.copied, 0u);
  EXPECT_EQ(third.repaired, 0u);
  EXPECT_TRUE(third.verified);
  EXPECT_EQ(third.source_count, n_records);
}

TEST_P(vector_verification,
       without_a_checkpoint_extras_on_the_target_are_kept_and_reported) {
  // The target's own records may be there on purpose (a merge): only a run
  // the checkpoint knows of removes anything.
  name_ = collection("nockpt");
  fill(*src_, name_, dim, metric::l2, n_records);
  fill(*dst_, name_, dim, metric::l2, n_records);
  spoil_target();
  try {
    migrate(options());
    ADD_FAILURE() << "expected verification_failed";
  } catch (const store_error& e) {
    EXPECT_EQ(e.code(), errc::verification_failed);
    EXPECT_NE(std::string(e.what()).find("zz-extra"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(await(dst_->get(name_, {"zz-extra"})).size(), 1u);
  EXPECT_EQ(await(src_->count(name_)), n_records);
}

INSTANTIATE_TEST_SUITE_P(targets, vector_verification,
                         ::testing::Values("faiss", "pgvector", "chroma"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           return "faiss_to_" + i.param;
                         });

}  // namespace
}  // namespace storage::mig
