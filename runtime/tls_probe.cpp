#include "runtime/tls_probe.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include <openssl/ssl.h>

namespace storage {

namespace {

using clock = std::chrono::steady_clock;

int millis_until(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on `fd` until `deadline`; false on timeout.
bool wait_for(int fd, short events, clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, millis_until(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return true;  // let the next call see the error
  }
}

struct fd_closer {
  int fd = -1;
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
};

// A TCP connection to `host:port` made by `deadline`, or -1.
int connect_tcp(const std::string& host, std::uint16_t port,
                clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints,
                    &found) != 0)
    return -1;
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found,
                                                            ::freeaddrinfo);
  for (auto* a = found; a; a = a->ai_next) {
    int fd =
        ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    fd_closer c{fd};
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS || !wait_for(fd, POLLOUT, deadline)) continue;
      int err = 0;
      socklen_t len = sizeof(err);
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
        continue;
    }
    c.fd = -1;
    return fd;
  }
  return -1;
}

}  // namespace

std::optional<std::string> silent_tls_peer(const std::string& host,
                                           std::uint16_t port,
                                           std::chrono::milliseconds wait) {
  auto deadline = clock::now() + wait;
  fd_closer sock{connect_tcp(host, port, deadline)};
  if (sock.fd < 0) return std::nullopt;
  std::unique_ptr<SSL_CTX, decltype(&::SSL_CTX_free)> ctx(
      ::SSL_CTX_new(::TLS_client_method()), ::SSL_CTX_free);
  if (!ctx) return std::nullopt;
  std::unique_ptr<SSL, decltype(&::SSL_free)> ssl(::SSL_new(ctx.get()),
                                                  ::SSL_free);
  if (!ssl || ::SSL_set_fd(ssl.get(), sock.fd) != 1) return std::nullopt;
  // The first call sends the ClientHello and wants the node's answer; any
  // byte back (a ServerHello, an alert, a close) shows the node is alive.
  auto r = ::SSL_connect(ssl.get());
  if (r == 1 || ::SSL_get_error(ssl.get(), r) != SSL_ERROR_WANT_READ)
    return std::nullopt;
  if (wait_for(sock.fd, POLLIN, deadline)) return std::nullopt;
  return "accepted the connection but did not answer the TLS handshake "
         "within " +
         std::to_string(wait.count()) + " ms";
}

}  // namespace storage
