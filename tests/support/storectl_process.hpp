// Runs the real storectl binary as a child process, the way scripts do, and
// captures what it printed on each stream and how it exited.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_util.hpp"  // with_param

namespace storage::test {

struct storectl_result {
  int code = -1;  // exit status; 128 + signal when killed
  std::string out;
  std::string err;

  // stdout as JSON objects, one per line; a line that is not JSON fails the
  // calling test.
  std::vector<nlohmann::json> lines() const;
  // The single stdout line; fails the calling test unless there is exactly one.
  nlohmann::json line() const;
};

// Runs STORECTL_PATH with `args`, writing `input` to its stdin.
storectl_result storectl(const std::vector<std::string>& args,
                         const std::string& input = "");

// A fresh directory under /tmp, removed with its contents on destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A name no other test run shares, for collections and namespaces on the
// shared servers.
std::string unique_name(const std::string& prefix);

}  // namespace storage::test
