// The live-migration journal: what it records, where, and that a damaged
// file stops a store from opening instead of guessing its backend.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

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
  e.source_identity = data_identity(source);
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

// An entry recorded at a later millisecond than the one before it.
journal_entry step_of(const std::string& from, const std::string& to,
                      live_step step) {
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  journal_entry e;
  e.source_identity = data_identity(from);
  e.source_uri = from;
  e.target_uri = to;
  e.step = step;
  return e;
}

// A memory:// target is gone once its process is: cut over to it, the
// store stays on the source that reverse replication kept current.
TEST(migration_journal, a_cutover_to_memory_serves_the_source_later) {
  migration_journal j(fresh_dir());
  auto a = std::string("sqlite:///a.db"), m = std::string("memory://?pool=2");
  j.record(step_of(a, m, live_step::cut_over));
  EXPECT_EQ(j.serving(a).uri, a);
  EXPECT_EQ(j.serving(a).last->step, live_step::cut_over);
  j.record(step_of(a, m, live_step::finalized));
  EXPECT_EQ(j.serving(a).uri, m);
  j.record(step_of(a, "sqlite:///b.db", live_step::cut_over));
  EXPECT_EQ(j.serving(a).uri, "sqlite:///b.db");
}

TEST(migration_journal, serving_follows_newer_entries_and_stops_at_home) {
  migration_journal j(fresh_dir());
  auto a = std::string("sqlite:///a.db"), b = std::string("sqlite:///b.db"),
       c = std::string("sqlite:///c.db");
  EXPECT_EQ(j.serving(a).uri, a);
  EXPECT_FALSE(j.serving(a).last.has_value());
  j.record(step_of(a, b, live_step::finalized));
  EXPECT_EQ(j.serving(a).uri, b);
  EXPECT_EQ(j.serving(a + "?timeout_ms=20000&pool=2").uri, b);
  EXPECT_EQ(j.serving(b).uri, b);
  j.record(step_of(b, c, live_step::cut_over));
  EXPECT_EQ(j.serving(a).uri, c);
  j.record(step_of(b, c, live_step::aborted));
  EXPECT_EQ(j.serving(a).uri, b);
  // Moved back: B -> A, newer than A's entry, whichever is configured.
  j.record(step_of(b, a, live_step::cut_over));
  EXPECT_EQ(j.serving(a).uri, a);
  EXPECT_EQ(j.serving(a + "?pool=2").uri, a + "?pool=2");  // its own now
  EXPECT_EQ(j.serving(b).uri, a);
}

TEST(migration_journal, a_migration_from_where_the_store_moved_is_found_there) {
  migration_journal j(fresh_dir());
  auto a = std::string("sqlite:///a.db"), b = std::string("sqlite:///b.db"),
       c = std::string("sqlite:///c.db");
  j.record(step_of(a, b, live_step::finalized));
  auto e = step_of(a, c, live_step::cut_over);
  e.source_uri = b;  // configured as A, served from B
  j.record(e);
  EXPECT_EQ(j.serving(a).uri, c);
  EXPECT_EQ(j.serving(b).uri, c);
  ASSERT_TRUE(j.find(b).has_value());
  EXPECT_EQ(j.find(b)->target_uri, c);
}

// Files of an older version were named by the full identity.
TEST(migration_journal, an_entry_named_by_the_full_identity_is_found) {
  auto dir = fresh_dir();
  migration_journal j(dir);
  auto a = std::string("sqlite:///a.db?timeout_ms=500");
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : store_identity(a)) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  char name[17];
  std::snprintf(name, sizeof name, "%016llx",
                static_cast<unsigned long long>(h));
  std::filesystem::create_directories(dir + "/migrations");
  std::ofstream(dir + "/migrations/" + name + ".json")
      << R"({"source_identity":")" << store_identity(a) << R"(","source_uri":")"
      << a
      << R"(","target_uri":"sqlite:///b.db","step":"finalized","at_ms":1})";
  EXPECT_EQ(j.serving(a).uri, "sqlite:///b.db");
  EXPECT_EQ(j.serving("sqlite:///a.db").uri, "sqlite:///a.db");
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
  j.record(entry_for(uri));
  std::ofstream(j.path_for(uri)) << "{ not json";
  runtime rt(options_in(dir));
  try {
    rt.open_cache(uri);
    FAIL() << "opened a store whose journal is unreadable";
  } catch (const store_error& err) {
    EXPECT_EQ(err.code(), errc::internal);
    EXPECT_NE(std::string(err.what()).find(j.path_for(uri)), std::string::npos)
        << err.what();
  }
}

}  // namespace
}  // namespace storage::test
