#include "adapters/faiss/faiss_dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "messages/errors.hpp"

namespace storage::faiss_detail {

namespace {

// The pid the holder wrote into the file, as the error shows it.
std::string holder_of(int fd) {
  char buf[32] = {};
  auto n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
    pid.pop_back();
  if (pid.empty()) return "another store";
  if (pid == std::to_string(::getpid()))
    return "another store of this process (pid " + pid + ")";
  return "the store of process " + pid;
}

}  // namespace

dir_lock::dir_lock(const std::string& dir) {
  auto path = dir + "/LOCK";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw store_error(errc::backend_unavailable,
                      "cannot open " + path + ": " + std::strerror(errno));
  int rc;
  do {
    rc = ::flock(fd_, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    auto why = errno;
    auto holder = why == EWOULDBLOCK ? holder_of(fd_) : std::string();
    ::close(fd_);
    fd_ = -1;
    if (why != EWOULDBLOCK)
      throw store_error(errc::backend_unavailable,
                        "cannot lock " + path + ": " + std::strerror(why));
    throw store_error(
        errc::conflict,
        "directory " + dir + " is in use by " + holder +
            ": a faiss:// directory has one store at a time; close that "
            "one, or serve it (storectl serve) and use caf:// elsewhere");
  }
  // Only for the error above; the lock itself is the flock.
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    auto n = ::pwrite(fd_, pid.data(), pid.size(), 0);
    (void)n;
  }
}

dir_lock::~dir_lock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace storage::faiss_detail
