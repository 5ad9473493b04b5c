// The live-migration journal: what it records, where, and that a damaged
// file stops a store from opening instead of guessing its backend.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "runtime/migration_journal.hpp"
#include "runtime/runtime.hpp"
#include "runtime/store_identity.hpp"
#include "support/test_util.hpp"

namespace storage::test {
namespace {

runtime_options options_in(const std::string& dir) {
  runtime_options o;
  o.state_dir = dir;
  return o;
}

journal_entry entry_for(const std::string& source) {
  journal_entry e;
  e.source_identity = source;
  e.source_uri = source;
  e.target_uri = "redis://:secret@127.0.0.1:1/0";
  return e;
}

TEST(migration_journal, records_each_step_and_names_the_authority) {
  migration_journal j(fresh_dir());
  EXPECT_FALSE(j.find("sqlite:///a.db").has_value());
  auto e = entry_for("sqlite:///a.db");
  for (auto step : {live_step::started, live_step::verified,
                    live_step::cut_over, live_step::aborted}) {
    e.step = step;
    j.record(e);
    auto got = j.find("sqlite:///a.db");
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->step, step);
    EXPECT_GT(got->at_ms, 0);
    EXPECT_EQ(got->authoritative(),
              step == live_step::cut_over ? e.target_uri : e.source_uri);
  }
  EXPECT_FALSE(j.find("sqlite:///b.db").has_value());
}

TEST(migration_journal, files_are_readable_by_their_owner_only) {
  migration_journal j(fresh_dir());
  j.record(entry_for("sqlite:///a.db"));
  struct stat st {};
  ASSERT_EQ(::stat(j.path_for("sqlite:///a.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(migration_journal, a_damaged_file_keeps_the_store_closed) {
  auto dir = fresh_dir();
  auto uri = "sqlite://" + fresh_dir() + "/c.db";
  {
    runtime rt(options_in(dir));
    await(rt.open_cache(uri).set("k", "v"));
  }
  migration_journal j(dir);
  auto id = store_identity(uri);
  j.record(entry_for(id));
  std::ofstream(j.path_for(id)) << "{ not json";
  runtime rt(options_in(dir));
  try {
    rt.open_cache(uri);
    FAIL() << "opened a store whose journal is unreadable";
  } catch (const store_error& err) {
    EXPECT_EQ(err.code(), errc::internal);
    EXPECT_NE(std::string(err.what()).find(j.path_for(id)), std::string::npos)
        << err.what();
  }
}

}  // namespace
}  // namespace storage::test
