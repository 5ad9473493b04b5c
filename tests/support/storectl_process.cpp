#include "support/storectl_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "support/exec_argv.hpp"

namespace storage::test {

namespace {

// A storectl that hangs fails the test instead of the whole suite.
constexpr auto deadline = std::chrono::seconds(120);

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

std::vector<nlohmann::json> storectl_result::lines() const {
  std::vector<nlohmann::json> result;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "stdout line is not JSON: " << line;
    EXPECT_TRUE(j.is_object()) << "stdout line is not an object: " << line;
    result.push_back(std::move(j));
  }
  return result;
}

nlohmann::json storectl_result::line() const {
  auto all = lines();
  EXPECT_EQ(all.size(), 1u) << "stdout: " << out << "\nstderr: " << err;
  return all.empty() ? nlohmann::json() : all.front();
}

storectl_result storectl(const std::vector<std::string>& args,
                         const std::string& input) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) ||
      ::pipe2(err, O_CLOEXEC))
    throw std::runtime_error("pipe failed");
  exec_argv argv(STORECTL_PATH, args);

  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execv(argv.path(), argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  int to_child = in[1], from_out = out[0], from_err = err[0];
  // The child may exit without reading its input.
  ::signal(SIGPIPE, SIG_IGN);

  storectl_result r;
  std::size_t written = 0;
  if (input.empty()) close_fd(to_child);
  auto start = std::chrono::steady_clock::now();
  while (from_out >= 0 || from_err >= 0) {
    if (std::chrono::steady_clock::now() - start > deadline) {
      ::kill(pid, SIGKILL);
      ADD_FAILURE() << "storectl did not finish within the deadline";
      break;
    }
    pollfd fds[3];
    int n = 0;
    int outs[3];
    for (int fd : {to_child, from_out, from_err}) {
      if (fd < 0) continue;
      fds[n].fd = fd;
      fds[n].events = fd == to_child ? POLLOUT : POLLIN;
      fds[n].revents = 0;
      outs[n++] = fd;
    }
    if (::poll(fds, n, 200) < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (outs[i] == to_child) {
        auto w =
            ::write(to_child, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        if (w < 0 || written == input.size()) close_fd(to_child);
        continue;
      }
      char buf[65536];
      auto got = ::read(outs[i], buf, sizeof buf);
      auto& sink = outs[i] == from_out ? r.out : r.err;
      if (got > 0) {
        sink.append(buf, static_cast<std::size_t>(got));
      } else {
        close_fd(outs[i] == from_out ? from_out : from_err);
      }
    }
  }
  close_fd(to_child);
  close_fd(from_out);
  close_fd(from_err);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

temp_dir::temp_dir() {
  char tmpl[] = "/tmp/storectl-test-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return prefix + "_" + std::to_string(::getpid()) + "_" +
         std::to_string(now % 1000000007) + "_" + std::to_string(++counter);
}

}  // namespace storage::test
