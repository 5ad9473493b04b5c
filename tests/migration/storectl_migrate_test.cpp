// `storectl migrate` as scripts run it: the summary lines, progress on
// stderr, errors, and a run killed with SIGKILL that resumes from its
// checkpoint when started again with the same arguments.
#include <filesystem>
#include <fstream>
#include <set>

#include "migration/migration_support.hpp"

namespace storage::mig {
namespace {

class storectl_migrate : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::fresh_dir(); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Runs storectl to the end.
  int run(const std::vector<std::string>& args, std::string& out,
          std::string& err) {
    storectl_child child(args, dir_);
    auto code = child.wait();
    out = child.out();
    err = child.err();
    return code;
  }
  // What the stderr lines {"repaired":{"records":N}} add up to.
  static int repaired_records(const std::string& err) {
    int n = 0;
    for (auto& l : json_lines(err))
      if (l.contains("repaired")) n += l["repaired"]["records"].get<int>();
    return n;
  }
  std::string dir_;
};

TEST_F(storectl_migrate, prints_one_summary_per_collection_and_progress) {
  auto from = "faiss://" + dir_ + "/src";
  auto to = "faiss://" + dir_ + "/dst";
  {
    runtime rt;
    auto vs = rt.open_vector(from);
    fill(vs, "alpha", 8, metric::l2, 1500);
    fill(vs, "beta", 8, metric::l2, 20);
  }
  std::string out, err;
  ASSERT_EQ(run({"migrate", "--from", from, "--to", to, "--collection", "alpha",
                 "--collection", "beta", "--batch", "100"},
                out, err),
            0)
      << err;
  auto lines = json_lines(out);
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_EQ(lines[0]["collection"], "alpha");
  EXPECT_EQ(lines[0]["copied"], 1500);
  EXPECT_EQ(lines[0]["source_count"], 1500);
  EXPECT_EQ(lines[0]["target_count"], 1500);
  EXPECT_EQ(lines[0]["verified"], true);
  EXPECT_TRUE(lines[0]["seconds"].is_number());
  // CLI.md's fields, no others: scripts read the line by its shape.
  std::set<std::string> keys;
  for (auto& [k, v] : lines[0].items()) keys.insert(k);
  EXPECT_EQ(keys,
            (std::set<std::string>{"collection", "copied", "source_count",
                                   "target_count", "verified", "seconds"}));
  EXPECT_EQ(lines[1]["collection"], "beta");
  // stderr is no terminal here: JSON progress lines only.
  auto progress = json_lines(err);
  ASSERT_FALSE(progress.empty());
  std::set<std::string> phases;
  for (auto& p : progress) {
    ASSERT_TRUE(p.contains("progress")) << p;
    for (auto* k :
         {"collection", "done", "total", "rate", "eta_seconds", "phase"})
      EXPECT_TRUE(p["progress"].contains(k)) << p;
    phases.insert(p["progress"]["phase"].get<std::string>());
  }
  // Verification reports too (each second while it runs, see progress_test).
  EXPECT_EQ(phases, (std::set<std::string>{"copy", "index", "verify"}));
  EXPECT_EQ(progress.back()["progress"]["done"], 20);
  EXPECT_EQ(progress.back()["progress"]["phase"], "verify");

  // --no-verify says so.
  ASSERT_EQ(run({"migrate", "--from", from, "--to", to, "--collection", "beta",
                 "--no-verify"},
                out, err),
            0)
      << err;
  EXPECT_EQ(json_lines(out).at(0)["verified"], false);
}

TEST_F(storectl_migrate, contract_errors_exit_1_with_one_line) {
  auto from = "faiss://" + dir_ + "/src";
  {
    runtime rt;
    auto src = rt.open_vector(from);
    fill(src, "alpha", 8, metric::l2, 5);
  }
  std::string out, err;
  EXPECT_EQ(
      run({"migrate", "--from", from, "--to", "sqlite://" + dir_ + "/c.db"},
          out, err),
      1);
  EXPECT_EQ(err.rfind("storectl: error: invalid_argument: ", 0), 0u) << err;
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(run({"migrate", "--from", from, "--to", "faiss://" + dir_ + "/d",
                 "--batch", "0"},
                out, err),
            1);
  EXPECT_EQ(err.rfind("storectl: error: invalid_argument: ", 0), 0u) << err;
  EXPECT_EQ(run({"migrate", "--from", from, "--to", "faiss://" + dir_ + "/d",
                 "--collection", "missing"},
                out, err),
            1);
  EXPECT_EQ(err.rfind("storectl: error: collection_not_found: ", 0), 0u) << err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/d"))
      << "a failed check must not create the target's directory";
  // Syntax: a missing required option is exit 2.
  EXPECT_EQ(run({"migrate", "--from", from}, out, err), 2);
}

// A source path with no store is a typo, not an empty store: refused, and
// neither side is created (before, it was created empty and "verified").
TEST_F(storectl_migrate, an_embedded_source_that_is_not_there_is_refused) {
  std::string out, err;
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"faiss://" + dir_ + "/typo", "faiss://" + dir_ + "/d"},
           {"sqlite://" + dir_ + "/typo.db", "sqlite://" + dir_ + "/d.db"}}) {
    for (const char* cmd : {"migrate", "verify"}) {
      EXPECT_EQ(run({cmd, "--from", from, "--to", to}, out, err), 1) << cmd;
      EXPECT_EQ(err.rfind("storectl: error: invalid_argument: --from '", 0), 0u)
          << err;
      EXPECT_NE(err.find("there is no store at " + dir_ + "/typo"),
                std::string::npos)
          << err;
      EXPECT_TRUE(out.empty()) << out;
    }
    for (auto* made : {"/typo", "/d", "/typo.db", "/d.db"})
      EXPECT_FALSE(std::filesystem::exists(dir_ + made))
          << made << " was created: " << from;
  }
  // verify compares two existing stores: a missing --to is refused too.
  {
    runtime rt;
    rt.open_cache("sqlite://" + dir_ + "/c.db").set("k", "v").get();
  }
  EXPECT_EQ(run({"verify", "--from", "sqlite://" + dir_ + "/c.db", "--to",
                 "sqlite://" + dir_ + "/typo.db"},
                out, err),
            1);
  EXPECT_EQ(err.rfind("storectl: error: invalid_argument: --to '", 0), 0u)
      << err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/typo.db"));
}

// The second collection's target has another spec: the first must not be
// copied either, whichever order the collections are named (or none is).
TEST_F(storectl_migrate, a_conflict_on_any_collection_writes_nothing) {
  auto from = "faiss://" + dir_ + "/src";
  auto to = "faiss://" + dir_ + "/dst";
  {
    runtime rt;
    auto src = rt.open_vector(from);
    fill(src, "alpha", 8, metric::l2, 20);
    fill(src, "beta", 8, metric::l2, 20);
    rt.open_vector(to).create_collection({"beta", 4, metric::cosine}).get();
  }
  std::string out, err;
  for (auto args : std::vector<std::vector<std::string>>{
           {"--collection", "alpha", "--collection", "beta"},
           {"--collection", "beta", "--collection", "alpha"},
           {}}) {
    args.insert(args.begin(), {"migrate", "--from", from, "--to", to});
    EXPECT_EQ(run(args, out, err), 1);
    EXPECT_EQ(err.rfind("storectl: error: conflict: collection 'beta'", 0), 0u)
        << err;
    EXPECT_TRUE(out.empty()) << out;
    runtime rt;
    auto names = rt.open_vector(to).list_collections().get();
    ASSERT_EQ(names.size(), 1u);
    EXPECT_EQ(names[0].name, "beta");
    EXPECT_EQ(rt.open_vector(to).count("beta").get(), 0u);
  }
}

// A checkpoint file written by a migration between other stores is refused
// before the target gets anything, even the collection it would create.
TEST_F(storectl_migrate, another_migrations_checkpoint_writes_nothing) {
  auto from = "faiss://" + dir_ + "/src";
  auto other = "faiss://" + dir_ + "/other";
  auto to = "faiss://" + dir_ + "/dst";
  {
    runtime rt;
    auto src = rt.open_vector(from);
    fill(src, "docs", 4, metric::l2, 10);
  }
  auto cp = dir_ + "/cp.json";
  std::string out, err;
  ASSERT_EQ(run({"migrate", "--from", from, "--to", other, "--checkpoint", cp},
                out, err),
            0)
      << err;
  EXPECT_EQ(run({"migrate", "--from", from, "--to", to, "--checkpoint", cp},
                out, err),
            1);
  EXPECT_EQ(err.rfind("storectl: error: invalid_argument: ", 0), 0u) << err;
  EXPECT_NE(err.find("belongs to the migration from"), std::string::npos)
      << err;
  EXPECT_TRUE(out.empty()) << out;
  {
    runtime rt;
    EXPECT_TRUE(rt.open_vector(to).list_collections().get().empty());
  }
  // How a store is reached is not which store it is: the same migration
  // with another timeout_ms (the fix a too short one asks for) or
  // max_inflight resumes from the same file.
  ASSERT_EQ(run({"migrate", "--from", test::with_param(from, "max_inflight=64"),
                 "--to", test::with_param(other, "timeout_ms=60000"),
                 "--checkpoint", cp},
                out, err),
            0)
      << err;
  EXPECT_EQ(json_lines(out).at(0)["copied"], 0);
  EXPECT_EQ(json_lines(out).at(0)["verified"], true);

  // A checkpoint path that cannot be created: named before the target gets
  // its first collection.
  std::ofstream(dir_ + "/plain") << "a file, not a directory\n";
  EXPECT_EQ(run({"migrate", "--from", from, "--to", to, "--checkpoint",
                 dir_ + "/plain/cp.json"},
                out, err),
            1);
  EXPECT_EQ(err.rfind("storectl: error: invalid_argument: ", 0), 0u) << err;
  EXPECT_NE(err.find("cannot be created"), std::string::npos) << err;
  runtime rt;
  EXPECT_TRUE(rt.open_vector(to).list_collections().get().empty());
}

TEST_F(storectl_migrate, a_cache_summary_has_a_null_collection) {
  auto from = "sqlite://" + dir_ + "/a.db?namespace=a";
  auto to = test::with_param(test::redis_uri(),
                             "namespace=mig" + test::unique_token() + "n");
  {
    runtime rt;
    auto c = rt.open_cache(from);
    std::vector<cache_entry> es;
    for (int i = 0; i < 300; ++i)
      es.push_back({"key" + std::to_string(i), "v", std::int64_t{600000}});
    await(c.mset(es));
  }
  std::string out, err;
  ASSERT_EQ(run({"migrate", "--from", from, "--to", to}, out, err), 0) << err;
  auto line = json_lines(out).at(0);
  EXPECT_TRUE(line["collection"].is_null());
  EXPECT_EQ(line["copied"], 300);
  EXPECT_EQ(line["target_count"], 300);
  EXPECT_EQ(line["verified"], true);
  runtime rt;
  await(rt.open_cache(to).clear());
}

// The reproduction: a target holding one extra record. The first
// run fails and is not completed; the rerun repairs, passes and completes.
TEST_F(storectl_migrate, a_failed_verification_is_repaired_by_the_rerun) {
  auto from = "faiss://" + dir_ + "/src";
  auto to = "faiss://" + dir_ + "/dst";
  {
    runtime rt;
    auto src = rt.open_vector(from);
    fill(src, "docs", 4, metric::l2, 100);
    auto dst = rt.open_vector(to);
    fill(dst, "docs", 4, metric::l2, 0);
    await(dst.upsert("docs", {make_record(4242, 4)}));
  }
  auto cp = dir_ + "/cp.json";
  std::vector<std::string> args{"migrate", "--from",       from, "--to",
                                to,        "--checkpoint", cp};
  std::string out, err;
  ASSERT_EQ(run(args, out, err), 1);
  EXPECT_NE(err.find("storectl: error: verification_failed: collection "
                     "'docs': 1 extra (rec-0004242)"),
            std::string::npos)
      << err;
  EXPECT_EQ(checkpoint_entry_of(cp, "docs")["completed"], false);
  ASSERT_EQ(run(args, out, err), 0) << err;
  auto second = json_lines(out).at(0);
  EXPECT_EQ(second["copied"], 0);  // the repair only removed
  EXPECT_EQ(repaired_records(err), 1);
  EXPECT_EQ(second["verified"], true);
  EXPECT_EQ(second["target_count"], 100);
  EXPECT_EQ(checkpoint_entry_of(cp, "docs")["completed"], true);
  ASSERT_EQ(run(args, out, err), 0) << err;
  auto third = json_lines(out).at(0);
  EXPECT_EQ(third["copied"], 0);
  EXPECT_EQ(repaired_records(err), 0);
  EXPECT_EQ(third["verified"], true);

  // Completed: a rerun copies nothing and only verifies (CLI.md), so a
  // target changed since fails and keeps what it holds; the next rerun
  // repairs.
  {
    runtime rt;
    await(rt.open_vector(to).upsert("docs", {make_record(4343, 4)}));
  }
  ASSERT_EQ(run(args, out, err), 1) << out;
  EXPECT_NE(err.find("1 extra (rec-0004343)"), std::string::npos) << err;
  EXPECT_EQ(checkpoint_entry_of(cp, "docs")["completed"], false);
  ASSERT_EQ(run(args, out, err), 0) << err;
  auto fifth = json_lines(out).at(0);
  EXPECT_EQ(fifth["copied"], 0);
  EXPECT_EQ(repaired_records(err), 1);
  EXPECT_EQ(fifth["target_count"], 100);
}

// 50,000 records faiss -> pgvector, killed once the checkpoint shows
// progress, then run again with the same arguments.
TEST_F(storectl_migrate, a_killed_run_resumes_from_its_checkpoint) {
  constexpr std::uint64_t n = 50000;
  constexpr std::uint64_t batch = 500;
  auto from = "faiss://" + dir_ + "/src";
  auto to = test::pgvector_uri();
  auto name = unique_collection("resume");
  {
    runtime rt;
    auto vs = rt.open_vector(from);
    fill(vs, name, 8, metric::l2, n, 5000);
  }
  auto cp = dir_ + "/cp.json";
  std::vector<std::string> args{
      "migrate",      "--from",  from,
      "--to",         to,        "--collection",
      name,           "--batch", std::to_string(batch),
      "--checkpoint", cp};
  std::uint64_t at_kill = 0;
  {
    storectl_child first(args, dir_);
    auto deadline = std::chrono::steady_clock::now() + 120s;
    while (std::chrono::steady_clock::now() < deadline && first.running()) {
      auto e = checkpoint_entry_of(cp, name);
      if (!e.is_null() && e["copied"].get<std::uint64_t>() >= 5000) break;
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(first.running()) << "finished before it could be killed";
    first.kill();
    auto e = checkpoint_entry_of(cp, name);
    ASSERT_FALSE(e.is_null());
    at_kill = e["copied"].get<std::uint64_t>();
    EXPECT_EQ(e["completed"], false);
  }
  ASSERT_GE(at_kill, 5000u);
  ASSERT_LT(at_kill, n);

  std::string out, err;
  ASSERT_EQ(run(args, out, err), 0) << err;
  auto second = json_lines(out).at(0);
  auto copied = second["copied"].get<std::uint64_t>();
  // Only what was left, plus at most one batch written but not yet recorded.
  EXPECT_GE(copied, n - at_kill);
  EXPECT_LE(copied, n - at_kill + batch);
  EXPECT_EQ(second["verified"], true);
  EXPECT_EQ(second["target_count"], n);
  std::printf(
      "[ figures  ] killed at %llu of %llu; resumed run copied %llu "
      "in %.2f s (with verification)\n",
      static_cast<unsigned long long>(at_kill),
      static_cast<unsigned long long>(n),
      static_cast<unsigned long long>(copied), second["seconds"].get<double>());
  EXPECT_EQ(checkpoint_entry_of(cp, name)["completed"], true);

  // Completed: copies nothing, verifies.
  ASSERT_EQ(run(args, out, err), 0) << err;
  auto third = json_lines(out).at(0);
  EXPECT_EQ(third["copied"], 0);
  EXPECT_EQ(third["verified"], true);
  EXPECT_EQ(third["source_count"], n);

  runtime rt;
  await(rt.open_vector(to).drop_collection(name));
}

}  // namespace
}  // namespace storage::mig
