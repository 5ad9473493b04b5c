#include "adapters/faiss/faiss_dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

#include "messages/errors.hpp"

namespace storage::faiss_detail {

namespace {

// How long a store of this process that is still closing is waited for.
constexpr auto closing_wait = std::chrono::seconds(5);

// The pid the holder wrote into the file.
std::string holder_pid(int fd) {
  char buf[32] = {};
  auto n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
    pid.pop_back();
  return pid;
}

std::string holder_of(const std::string& pid, const std::string& me) {
  if (pid.empty()) return "another store";
  if (pid == me) return "another store of this process (pid " + pid + ")";
  return "the store of process " + pid;
}

}  // namespace

void check_layout(const std::string& root, std::uint32_t shards) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::set<std::uint32_t> found;
  if (fs::exists(root + "/store.db", ec)) found.insert(1);
  for (fs::directory_iterator it(root, ec), end; !ec && it != end;
       it.increment(ec)) {
    unsigned i = 0, n = 0;
    char tail = 0;
    auto name = it->path().filename().string();
    if (std::sscanf(name.c_str(), "shard-%u-of-%u%c", &i, &n, &tail) == 2 &&
        n > 1 && fs::exists(it->path() / "store.db", ec))
      found.insert(n);
  }
  if (found.empty() || found.count(shards)) return;
  auto held = *found.begin();
  throw store_error(
      errc::conflict,
      "directory " + root + " holds a store of " + std::to_string(held) +
          (held == 1 ? " shard" : " shards") +
          " (pool=" + std::to_string(held) +
          "); opened with pool=" + std::to_string(shards) +
          " its records would not be visible. Open it with pool=" +
          std::to_string(held) +
          ", or migrate it (storectl migrate) to a directory of its own");
}

dir_lock::dir_lock(const std::string& dir) {
  auto path = dir + "/LOCK";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw store_error(errc::backend_unavailable,
                      "cannot open " + path + ": " + std::strerror(errno));
  auto give_up = std::chrono::steady_clock::now() + closing_wait;
  auto me = std::to_string(::getpid());
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    auto why = errno;
    if (why == EINTR) continue;
    // A store of this process is most likely closing (a swap to the same
    // directory, a runtime's teardown; a close may write snapshots).
    auto pid = why == EWOULDBLOCK ? holder_pid(fd_) : std::string();
    if (why == EWOULDBLOCK && pid == me &&
        std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    ::close(fd_);
    fd_ = -1;
    if (why != EWOULDBLOCK)
      throw store_error(errc::backend_unavailable,
                        "cannot lock " + path + ": " + std::strerror(why));
    throw store_error(
        errc::conflict,
        "directory " + dir + " is in use by " + holder_of(pid, me) +
            ": a faiss:// directory has one store at a time; close that "
            "one, or serve it (storectl serve) and use caf:// elsewhere");
  }
  // Only for the error above; the lock itself is the flock.
  me += '\n';
  if (::ftruncate(fd_, 0) == 0) {
    auto n = ::pwrite(fd_, me.data(), me.size(), 0);
    (void)n;
  }
}

dir_lock::~dir_lock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace storage::faiss_detail
