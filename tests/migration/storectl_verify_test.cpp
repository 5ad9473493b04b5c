// `storectl verify` as scripts run it: one summary line per collection in
// migrate's shape plus what differs by kind, exit 0 when everything verified,
// otherwise the lines and then one verification_failed line, exit 1.
#include <filesystem>

#include "migration/migration_support.hpp"

namespace storage::mig {
namespace {

// The keys of one summary line, in order.
std::vector<std::string> keys_of(const nlohmann::ordered_json& j) {
  std::vector<std::string> out;
  for (auto& [k, v] : j.items()) out.push_back(k);
  return out;
}

class storectl_verify : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::fresh_dir();
    from_ = "faiss://" + dir_ + "/src";
    to_ = "faiss://" + dir_ + "/dst";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  int run(const std::vector<std::string>& args, std::string& out,
          std::string& err) {
    storectl_child child(args, dir_);
    auto code = child.wait();
    out = child.out();
    err = child.err();
    return code;
  }
  std::string dir_, from_, to_;
};

TEST_F(storectl_verify, prints_migrates_shape_and_exits_by_the_outcome) {
  {
    runtime rt;
    auto src = rt.open_vector(from_);
    auto dst = rt.open_vector(to_);
    fill(src, "alpha", 4, metric::l2, 40);
    fill(dst, "alpha", 4, metric::l2, 40);
    fill(src, "beta", 4, metric::l2, 5);
    fill(dst, "beta", 4, metric::l2, 5);
  }
  std::string out, err;
  ASSERT_EQ(run({"verify", "--from", from_, "--to", to_}, out, err), 0) << err;
  EXPECT_TRUE(err.empty()) << err;
  auto lines = json_lines(out);
  ASSERT_EQ(lines.size(), 2u) << out;
  auto first = nlohmann::ordered_json::parse(out.substr(0, out.find('\n')));
  EXPECT_EQ(keys_of(first),
            (std::vector<std::string>{
                "collection", "copied", "source_count", "target_count",
                "verified", "missing", "extra", "mismatched", "first_missing",
                "first_extra", "first_mismatched", "seconds"}));
  EXPECT_EQ(lines[0]["collection"], "alpha");
  EXPECT_EQ(lines[0]["copied"], 0);
  EXPECT_EQ(lines[0]["source_count"], 40);
  EXPECT_EQ(lines[0]["target_count"], 40);
  EXPECT_EQ(lines[0]["verified"], true);
  EXPECT_EQ(lines[0]["missing"], 0);
  EXPECT_TRUE(lines[0]["first_missing"].empty());
  EXPECT_EQ(lines[1]["collection"], "beta");

  // One of each kind, and collections on one side only.
  {
    runtime rt;
    auto src = rt.open_vector(from_);
    auto dst = rt.open_vector(to_);
    await(dst.remove("alpha", {"rec-0000007"}));
    auto changed = make_record(3, 4);
    changed.document = "changed";
    auto extra = make_record(7777, 4);
    await(dst.upsert("alpha", {changed, extra}));
    fill(src, "gamma", 4, metric::l2, 2);
    fill(dst, "delta", 4, metric::ip, 1);
    fill(src, "epsilon", 4, metric::l2, 3);
    fill(dst, "epsilon", 4, metric::cosine, 3);
  }
  ASSERT_EQ(run({"verify", "--from", from_, "--to", to_}, out, err), 1);
  lines = json_lines(out);
  ASSERT_EQ(lines.size(), 5u) << out;  // alpha, beta, delta, epsilon, gamma
  EXPECT_EQ(lines[0]["verified"], false);
  EXPECT_EQ(lines[0]["missing"], 1);
  EXPECT_EQ(lines[0]["first_missing"], nlohmann::json({"rec-0000007"}));
  EXPECT_EQ(lines[0]["extra"], 1);
  EXPECT_EQ(lines[0]["first_extra"], nlohmann::json({"rec-0007777"}));
  EXPECT_EQ(lines[0]["mismatched"], 1);
  EXPECT_EQ(lines[0]["first_mismatched"], nlohmann::json({"rec-0000003"}));
  EXPECT_EQ(lines[1]["verified"], true);
  EXPECT_EQ(lines[2]["collection"], "delta");
  EXPECT_EQ(lines[2]["verified"], false);
  EXPECT_EQ(lines[2]["source_count"], 0);
  EXPECT_EQ(lines[2]["extra"], 1);
  EXPECT_EQ(lines[2]["problem"], "does not exist on the source");
  EXPECT_FALSE(lines[1].contains("problem")) << lines[1];
  // Same records, another metric: the collection itself differs.
  EXPECT_EQ(lines[3]["collection"], "epsilon");
  EXPECT_EQ(lines[3]["verified"], false);
  EXPECT_EQ(lines[3]["mismatched"], 0);
  EXPECT_EQ(lines[4]["collection"], "gamma");
  EXPECT_EQ(lines[4]["missing"], 2);
  EXPECT_EQ(err.rfind("storectl: error: verification_failed: ", 0), 0u) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  for (auto* part :
       {"collection 'alpha': 1 missing (rec-0000007), 1 extra (rec-0007777), "
        "1 mismatched (rec-0000003)",
        "collection 'delta' does not exist on the source",
        "collection 'epsilon' has dimension 4 and metric l2 on the source but "
        "dimension 4 and metric cosine on the target",
        "collection 'gamma' does not exist on the target"})
    EXPECT_NE(err.find(part), std::string::npos) << err;

  // Named collections only: beta verifies alone.
  ASSERT_EQ(
      run({"verify", "--from", from_, "--to", to_, "--collection", "beta"}, out,
          err),
      0)
      << err;
  EXPECT_EQ(json_lines(out).size(), 1u);
  // Verification changed nothing.
  runtime rt;
  EXPECT_EQ(await(rt.open_vector(to_).count("alpha")), 40u);
}

TEST_F(storectl_verify, a_cache_line_has_a_null_collection) {
  auto from = "sqlite://" + dir_ + "/c.db?namespace=a";
  auto to = "sqlite://" + dir_ + "/c.db?namespace=b";
  {
    runtime rt;
    await(rt.open_cache(from).set("k", "v"));
    await(rt.open_cache(to).set("k", "v"));
  }
  std::string out, err;
  ASSERT_EQ(run({"verify", "--from", from, "--to", to}, out, err), 0) << err;
  auto line = json_lines(out).at(0);
  EXPECT_TRUE(line["collection"].is_null());
  EXPECT_EQ(line["verified"], true);
  EXPECT_EQ(line["source_count"], 1);
  {
    runtime rt;
    await(rt.open_cache(to).set("other", "v"));
  }
  ASSERT_EQ(run({"verify", "--from", from, "--to", to}, out, err), 1);
  line = json_lines(out).at(0);
  EXPECT_EQ(line["verified"], false);
  EXPECT_EQ(line["first_extra"], nlohmann::json({"other"}));
  EXPECT_NE(err.find("verification_failed: the cache: 1 extra (other)"),
            std::string::npos)
      << err;
}

TEST_F(storectl_verify, errors_follow_the_contract) {
  {
    runtime rt;  // both stores exist (a missing one is refused, see migrate's)
    rt.open_vector(from_).list_collections().get();
    rt.open_vector(to_).list_collections().get();
  }
  std::string out, err;
  // Syntax: exit 2.
  EXPECT_EQ(run({"verify", "--from", from_}, out, err), 2);
  EXPECT_EQ(run({"verify", "--from", from_, "--to", to_, "--bogus"}, out, err),
            2);
  // Contract errors: exit 1, one line, nothing on stdout.
  EXPECT_EQ(
      run({"verify", "--from", from_, "--to", to_, "--collection", "nowhere"},
          out, err),
      1);
  EXPECT_EQ(err.rfind("storectl: error: collection_not_found: ", 0), 0u) << err;
  EXPECT_TRUE(out.empty()) << out;
  EXPECT_EQ(
      run({"verify", "--from", from_, "--to", "sqlite://" + dir_ + "/c.db"},
          out, err),
      1);
  EXPECT_EQ(err.rfind("storectl: error: invalid_argument: ", 0), 0u) << err;
  EXPECT_EQ(run({"verify", "--from", "sqlite://" + dir_ + "/c.db", "--to",
                 "memory://", "--collection", "docs"},
                out, err),
            1);
  EXPECT_EQ(err.rfind("storectl: error: invalid_argument: ", 0), 0u) << err;
}

}  // namespace
}  // namespace storage::mig
