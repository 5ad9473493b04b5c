// A process is SIGKILLed at each step of a live migration while four
// writers run (tests/support/live_crash_child.cpp). A fresh runtime with the
// old configuration and the same state directory must then serve every
// acknowledged write, and no deleted record, from the backend the journal
// names.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "live_support.hpp"
#include "runtime/migration_journal.hpp"
#include "support/exec_argv.hpp"
#include "support/servers.hpp"

namespace storage::test {
namespace {

using value = std::optional<std::string>;

struct crash_case {
  const char* kind;
  const char* step;
  std::vector<live_step> journaled;  // the steps the journal may hold
};

std::ostream& operator<<(std::ostream& os, const crash_case& c) {
  return os << c.kind << "_" << c.step;
}

// Runs the child to its self-inflicted SIGKILL; false if it ended otherwise.
bool run_child(const std::vector<std::string>& args, const std::string& state,
               std::string& why) {
  // Built before the fork, as argv is (support/exec_argv.hpp).
  exec_argv argv(args.front(), {args.begin() + 1, args.end()});
  std::string state_var = "STORAGE_STATE_DIR=" + state;
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "STORAGE_STATE_DIR=", 18) != 0) envp.push_back(*e);
  envp.push_back(state_var.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execve(argv.path(), argv.data(), envp.data());
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      why = "the child did not reach its step within 3 minutes";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return true;
  why = "the child exited with status " + std::to_string(WEXITSTATUS(status));
  return false;
}

// What each id may hold, from the child's log: its last acknowledged value,
// or the value of a write whose outcome it never learned.
std::map<std::string, std::set<value>> model_of(const std::string& log,
                                                int& errors, bool& killed) {
  std::map<std::string, std::set<value>> allowed;
  std::map<std::string, value> pending;
  for (int i = 0; i < 3000; ++i)
    allowed["id" + std::to_string(i)] = {"seed" + std::to_string(i)};
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string tag, thread, id, v;
    ls >> tag >> thread >> id >> v;
    if (tag == "KILL") killed = true;
    if (tag == "B") pending[id] = v == "-" ? value{} : value{v};
    if (tag == "A") allowed[id] = {pending[id]};
    if (tag == "E") {
      ++errors;
      allowed[id].insert(pending[id]);
    }
    if (tag == "A" || tag == "E") pending.erase(id);
  }
  for (auto& [id, v] : pending) allowed[id].insert(v);  // in flight
  return allowed;
}

// id -> value as the store shows it.
std::map<std::string, std::string> contents(runtime& rt, bool vector,
                                            const std::string& uri,
                                            const std::string& coll) {
  std::map<std::string, std::string> out;
  if (vector) {
    auto vs = rt.open_vector(uri);
    for (auto& [id, r] : scan_all(vs, coll)) out[id] = r.document.value_or("");
  } else {
    auto cs = rt.open_cache(uri);
    out = scan_all(cs);
  }
  return out;
}

class live_crash : public ::testing::TestWithParam<crash_case> {};

TEST_P(live_crash, every_acknowledged_write_survives_on_the_right_backend) {
  auto c = GetParam();
  bool vector = std::string(c.kind) == "vector";
  auto dir = fresh_dir();
  auto state = dir + "/state";
  auto coll = "crash_" + unique_token();
  auto src = vector ? "faiss://" + dir + "/faiss" : "sqlite://" + dir + "/c.db";
  auto tgt = vector ? with_param(pgvector_uri(), "pool=2")
                    : with_param(redis_uri(), "namespace=" + coll + "&pool=2");
  auto log = dir + "/writes.log";
  std::string why;
  ASSERT_TRUE(run_child(
      {LIVE_CRASH_CHILD_PATH, c.kind, src, tgt, c.step, log, coll}, state, why))
      << why;

  int errors = 0;
  bool killed = false;
  auto allowed = model_of(log, errors, killed);
  ASSERT_TRUE(killed) << "the child died before its step";
  EXPECT_EQ(errors, 0) << "a writer saw an error during the migration";

  migration_journal journal(state);
  auto entry = journal.find(src);
  ASSERT_TRUE(entry.has_value());
  EXPECT_NE(std::find(c.journaled.begin(), c.journaled.end(), entry->step),
            c.journaled.end())
      << "journal step " << to_string(entry->step);

  // Closed before the second runtime below opens the same faiss://
  // directory (one store at a time per directory).
  auto actual = [&] {
    runtime rt({0, {}, 0, state, {}});
    return contents(rt, vector, src, coll);
  }();
  for (auto& [id, ok] : allowed) {
    auto it = actual.find(id);
    value got = it == actual.end() ? value{} : value{it->second};
    EXPECT_TRUE(ok.count(got))
        << id << " holds " << got.value_or("<deleted>") << " after a crash at "
        << c.step << " (journal: " << to_string(entry->step) << ")";
  }
  for (auto& [id, v] : actual) EXPECT_TRUE(allowed.count(id)) << id;

  // The store is served from the backend the journal names, and that
  // backend holds exactly what the store shows.
  runtime no_journal({0, {}, 0, dir + "/other-state", {}});
  EXPECT_EQ(contents(no_journal, vector, entry->authoritative(), coll), actual);

  if (vector)
    await(no_journal.open_vector(tgt).drop_collection(coll));
  else
    await(no_journal.open_cache(tgt).clear());
}

using s = live_step;
INSTANTIATE_TEST_SUITE_P(
    steps, live_crash,
    ::testing::Values(
        crash_case{"vector", "backfill", {s::started, s::backfilled}},
        crash_case{"vector", "verified", {s::verified, s::cut_over}},
        crash_case{"vector", "cutover", {s::cut_over}},
        crash_case{"vector", "finalized", {s::finalized}},
        crash_case{"cache", "backfill", {s::started, s::backfilled}},
        crash_case{"cache", "verified", {s::verified, s::cut_over}},
        crash_case{"cache", "cutover", {s::cut_over}},
        crash_case{"cache", "finalized", {s::finalized}}),
    [](const auto& info) {
      return std::string(info.param.kind) + "_" + info.param.step;
    });

}  // namespace
}  // namespace storage::test
