// A serving node for tests: the real `storectl serve` in a child process,
// serving stores named in a config file this helper writes. Tests kill it,
// freeze it (SIGSTOP) and restart it on the same port.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace storage::test {

class served_node {
 public:
  // Serves `stores` (name -> URI) on 127.0.0.1 at a free port. `config_extra`
  // is appended to the config file (e.g. an [openssl] section); `args` are
  // added to the command line. Fails the calling test (and throws) if the
  // node does not report that it serves within 30 s.
  explicit served_node(std::map<std::string, std::string> stores,
                       std::string config_extra = "",
                       std::vector<std::string> args = {});
  ~served_node();
  served_node(const served_node&) = delete;
  served_node& operator=(const served_node&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // caf://127.0.0.1:PORT/name
  std::string uri(const std::string& name) const;
  const std::string& config_path() const { return config_; }
  // The node's first stdout line ({"serving":..}).
  const nlohmann::json& ready_line() const { return ready_; }
  // What the node wrote on stderr so far.
  std::string log() const;

  void signal(int sig) const;
  // SIGKILL and reap.
  void kill();
  // SIGTERM; the exit status (128 + signal when killed), or -1 when it did
  // not exit within `wait_ms`.
  int terminate(int wait_ms = 30000);
  // Starts it again on the same port (after kill() or terminate()).
  void restart();

 private:
  void start(std::uint16_t port);
  void reap();
  void close_output();

  std::string dir_;
  std::string config_;
  std::vector<std::string> args_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  int out_ = -1;  // the node's stdout
  nlohmann::json ready_;
};

// Runs `storectl serve` with `args` and returns its exit status and stderr
// when it exits by itself within 30 s (e.g. a refused configuration).
struct serve_failure {
  int code = -1;
  std::string err;
};
serve_failure serve_expecting_exit(const std::vector<std::string>& args);

}  // namespace storage::test
