#include "support/served_node.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/exec_argv.hpp"
#include "support/test_util.hpp"

namespace storage::test {

namespace {

int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Forks `storectl args...` with stdout on a pipe and stderr into `err_file`.
pid_t spawn(const std::vector<std::string>& args, const std::string& err_file,
            int& out_fd) {
  exec_argv argv(STORECTL_PATH, args);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  auto pid = fork();
  if (pid == 0) {
    // A test process that dies (a ctest timeout kills it) takes its node
    // along instead of leaving it serving. (Linux ties this to the thread
    // that forked: gtest runs tests on the main thread.)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(fds[1], STDOUT_FILENO);
    int err =
        open(err_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (err >= 0) dup2(err, STDERR_FILENO);
    execv(argv.path(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  out_fd = fds[0];
  return pid;
}

// One line from `fd`, waiting at most `ms`; empty when none came.
std::string read_line(int fd, int ms) {
  std::string line;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    until - std::chrono::steady_clock::now())
                    .count();
    if (poll(&p, 1, static_cast<int>(std::max<long>(left, 1))) <= 0) continue;
    char c;
    auto n = ::read(fd, &c, 1);
    if (n <= 0) break;
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

}  // namespace

served_node::served_node(std::map<std::string, std::string> stores,
                         std::string config_extra,
                         std::vector<std::string> args)
    : args_(std::move(args)) {
  char tmpl[] = "/tmp/served-node-XXXXXX";
  dir_ = mkdtemp(tmpl);
  config_ = dir_ + "/node.ini";
  std::ofstream cfg(config_);
  cfg << "[stores]\n";
  for (auto& [name, uri] : stores) cfg << name << "=\"" << uri << "\"\n";
  cfg << config_extra << "\n";
  cfg.close();
  // Readable by others whatever the umask, as most config files are: a
  // node warns about one that holds a password (node_serve tests check).
  std::filesystem::permissions(config_, std::filesystem::perms(0644));
  start(0);
}

served_node::~served_node() {
  if (pid_ > 0) {
    // A frozen node would not die of SIGKILL's cousins; SIGKILL always works.
    ::kill(pid_, SIGKILL);
    reap();
  }
  close_output();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string served_node::uri(const std::string& name) const {
  return "caf://127.0.0.1:" + std::to_string(port_) + "/" + name;
}

std::string served_node::log() const {
  return file_text(dir_ + "/node.err");
}

namespace {

// A thread's state letter from /proc (R, S, T when stopped, ...).
char thread_state(const std::string& stat_path) {
  auto stat = file_text(stat_path);
  auto at = stat.rfind(')');
  return at == std::string::npos || at + 2 >= stat.size() ? '?' : stat[at + 2];
}

// Whether every thread of `pid` is stopped.
bool all_stopped(pid_t pid) {
  std::error_code ec;
  auto dir = "/proc/" + std::to_string(pid) + "/task";
  for (auto& task : std::filesystem::directory_iterator(dir, ec)) {
    auto st = thread_state(task.path().string() + "/stat");
    if (st != 'T' && st != 't') return false;
  }
  return !ec;
}

}  // namespace

void served_node::signal(int sig) const {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  if (sig != SIGSTOP && sig != SIGCONT) return;
  // kill() returns before the node's threads have stopped (or run again):
  // a thread still running would answer requests sent after the stop.
  bool want_stopped = sig == SIGSTOP;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (all_stopped(pid_) != want_stopped &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void served_node::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap();
  close_output();
}

int served_node::terminate(int wait_ms) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      close_output();
      return status_code(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

void served_node::restart() {
  EXPECT_LE(pid_, 0) << "restart() of a node that still runs";
  start(port_);
}

void served_node::reap() {
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void served_node::close_output() {
  if (out_ >= 0) close(out_);
  out_ = -1;
}

void served_node::start(std::uint16_t port) {
  std::vector<std::string> args = {"serve", "--config", config_, "--port",
                                   std::to_string(port)};
  args.insert(args.end(), args_.begin(), args_.end());
  close_output();
  pid_ = spawn(args, dir_ + "/node.err", out_);
  // The pipe stays open until the node is gone: it prints a last line.
  auto line = read_line(out_, 30000);
  if (line.empty()) {
    ADD_FAILURE() << "storectl serve did not report serving; its log:\n"
                  << log();
    throw std::runtime_error("node did not start");
  }
  ready_ = nlohmann::json::parse(line);
  auto serving = ready_.at("serving").get<std::string>();
  port_ = static_cast<std::uint16_t>(
      std::stoi(serving.substr(serving.rfind(':') + 1)));
}

serve_failure serve_expecting_exit(const std::vector<std::string>& args) {
  char tmpl[] = "/tmp/serve-fail-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  int out = -1;
  auto pid = spawn(args, dir + "/err", out);
  serve_failure f;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      f.code = status_code(status);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (f.code == -1) {
    ::kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  close(out);
  f.err = file_text(dir + "/err");
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return f;
}

}  // namespace storage::test
