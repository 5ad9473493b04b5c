// The argv of a child the tests fork and exec, built before the fork. The
// test process runs a runtime's threads, and a child of a threaded process
// may only make async-signal-safe calls until it execs: a malloc there can
// wait forever for a lock another thread held at the fork. (Most likely
// what happened once under ASan: a restarted node never logged a line and
// its start timed out.)
#pragma once

#include <string>
#include <vector>

namespace storage::test {

class exec_argv {
 public:
  exec_argv(std::string path, std::vector<std::string> args)
      : strings_(std::move(args)) {
    strings_.insert(strings_.begin(), std::move(path));
    for (auto& s : strings_) ptrs_.push_back(s.data());
    ptrs_.push_back(nullptr);
  }
  exec_argv(const exec_argv&) = delete;
  exec_argv& operator=(const exec_argv&) = delete;

  const char* path() const { return ptrs_.front(); }
  char* const* data() const { return ptrs_.data(); }

 private:
  std::vector<std::string> strings_;
  std::vector<char*> ptrs_;
};

}  // namespace storage::test
