// Helpers of the migration tests: generated collections, the stores of each
// backend, a guard that always restarts a stopped server, a child storectl
// that can be killed, and this process's memory figures.
#pragma once

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/runtime.hpp"
#include "support/exec_argv.hpp"
#include "support/servers.hpp"
#include "support/test_util.hpp"

#ifndef STORAGE_SOURCE_DIR
#error "migration_tests need STORAGE_SOURCE_DIR (see tests/CMakeLists.txt)"
#endif

namespace storage::mig {

using namespace std::chrono_literals;
using test::await;

// Record i of a generated collection: a deterministic embedding, metadata of
// every type and a document on most records (some have none, to check an
// absent document stays absent).
inline vector_record make_record(std::size_t i, std::uint32_t dim) {
  vector_record r;
  char id[32];
  std::snprintf(id, sizeof id, "rec-%07zu", i);
  r.id = id;
  r.embedding.resize(dim);
  for (std::uint32_t d = 0; d < dim; ++d)
    r.embedding[d] = static_cast<float>(((i * 31 + d * 17) % 1000) / 997.0 -
                                        0.5 + (d == 0 ? 0.001 : 0.0));
  r.metadata["n"] = static_cast<std::int64_t>(i);
  r.metadata["x"] = static_cast<double>(i) / 8.0;
  r.metadata["tag"] = std::string(i % 2 ? "odd" : "even");
  r.metadata["flag"] = (i % 3 == 0);
  if (i % 5 != 0) r.document = "document " + std::to_string(i);
  return r;
}

// Fills `collection` (created with dim and m) with records [0, n).
inline void fill(vector_store& vs, const std::string& collection,
                 std::uint32_t dim, metric m, std::size_t n,
                 std::size_t batch = 1000) {
  await(vs.create_collection({collection, dim, m}));
  for (std::size_t start = 0; start < n; start += batch) {
    std::vector<vector_record> rs;
    for (std::size_t i = start; i < std::min(n, start + batch); ++i)
      rs.push_back(make_record(i, dim));
    await(vs.upsert(collection, std::move(rs)));
  }
}

// Each line of `text` as JSON (storectl's stdout); a line that is not JSON
// fails the test.
inline std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    out.push_back(j);
  }
  return out;
}

inline std::string unique_collection(const std::string& base) {
  return base + "_" + test::unique_token();
}

// scripts/services.sh ARGS; its exit status.
inline int services(const std::string& args) {
  return std::system((std::string(STORAGE_SOURCE_DIR) +
                      "/scripts/services.sh " + args + " >/dev/null 2>&1")
                         .c_str());
}

// Stops a shared server on request and always starts it again, even when an
// assertion fails: later tests (and other suites) need it.
class server_guard {
 public:
  explicit server_guard(std::string name) : name_(std::move(name)) {}
  ~server_guard() { start(); }
  server_guard(const server_guard&) = delete;
  server_guard& operator=(const server_guard&) = delete;

  void stop() {
    stopped_ = true;
    EXPECT_EQ(services("stop " + name_), 0) << "cannot stop " << name_;
  }
  void start() {
    if (!stopped_) return;
    stopped_ = false;
    EXPECT_EQ(services("start " + name_), 0) << "cannot start " << name_;
  }

 private:
  std::string name_;
  bool stopped_ = false;
};

// A storectl child whose output goes to files, so the test can watch its
// checkpoint and kill it mid-run.
class storectl_child {
 public:
  storectl_child(const std::vector<std::string>& args, const std::string& dir)
      : out_(dir + "/out." + test::unique_token()),
        err_(dir + "/err." + test::unique_token()) {
    test::exec_argv argv(STORECTL_PATH, args);
    // The child would write out this process's unflushed output again.
    std::fflush(nullptr);
    // Opened before the fork, as argv is built (support/exec_argv.hpp).
    int out =
        ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err =
        ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0 || err < 0) throw std::runtime_error("cannot open " + out_);
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::dup2(out, STDOUT_FILENO) < 0 || ::dup2(err, STDERR_FILENO) < 0)
        ::_exit(126);
      ::execv(argv.path(), argv.data());
      ::_exit(127);
    }
    ::close(out);
    ::close(err);
  }
  ~storectl_child() {
    if (pid_ > 0 && status_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  void kill() {
    ::kill(pid_, SIGKILL);
    wait();
  }
  bool running() {
    if (status_ >= 0) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return false;
    }
    return true;
  }
  // Waits at most `limit`, then kills; returns the exit status.
  int wait(std::chrono::seconds limit = std::chrono::seconds(300)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (running()) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "storectl did not finish in time";
        ::kill(pid_, SIGKILL);
      }
      std::this_thread::sleep_for(10ms);
    }
    return status_;
  }
  std::string out() const { return test::file_text(out_); }
  std::string err() const { return test::file_text(err_); }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// The checkpoint file's entry for `collection`, or null.
inline nlohmann::json checkpoint_entry_of(const std::string& path,
                                          const std::string& collection) {
  auto doc = nlohmann::json::parse(test::file_text(path), nullptr, false);
  if (doc.is_discarded() || !doc.contains("entries")) return nullptr;
  for (auto& e : doc["entries"])
    if (e["collection"] == collection) return e;
  return nullptr;
}

// A field of /proc/self/status in kB (VmRSS, VmHWM).
inline long proc_status_kb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0)
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  return -1;
}

// Resets the peak (VmHWM) to the current RSS, so a later VmHWM is the peak
// of what ran in between (Linux >= 4.0).
inline bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace storage::mig
