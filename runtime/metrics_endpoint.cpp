#include "runtime/metrics_endpoint.hpp"

#include <atomic>
#include <chrono>
#include <thread>

#include <httplib.h>
#include <sys/socket.h>

#include "adapters/storage_log.hpp"
#include "messages/errors.hpp"
#include "runtime/runtime.hpp"

namespace storage {

namespace {

// "HOST:PORT" or "PORT"; a bracketed IPv6 host keeps its colons.
std::pair<std::string, int> parse_address(const std::string& address) {
  auto bad = [&](const std::string& why) {
    return store_error(errc::invalid_argument,
                       "metrics address '" + address + "' " + why +
                           " (expected HOST:PORT or PORT)",
                       "metrics");
  };
  std::string host = "127.0.0.1";
  std::string port = address;
  if (auto colon = address.rfind(':'); colon != std::string::npos) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    if (host.empty()) throw bad("has no host before ':'");
  }
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos)
    throw bad("has no port number");
  auto n = std::stoi(port);
  if (n > 65535) throw bad("has a port above 65535");
  return {host, n};
}

}  // namespace

struct metrics_endpoint::impl {
  httplib::Server server;
  std::string host;
  std::uint16_t port = 0;
  std::thread listener;
  std::atomic<bool> returned{false};  // listen_after_bind is over
};

metrics_endpoint::metrics_endpoint(runtime& rt, const std::string& address)
    : impl_(std::make_unique<impl>()) {
  auto [host, port] = parse_address(address);
  auto& srv = impl_->server;
  // httplib's default adds SO_REUSEPORT, which lets a second process bind
  // the same port and take half the scrapes: an address in use must fail.
  srv.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  srv.Get("/metrics", [&rt](const httplib::Request&, httplib::Response& res) {
    try {
      res.set_content(prometheus_text(rt.stats()),
                      "text/plain; version=0.0.4; charset=utf-8");
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(std::string("metrics unavailable: ") + e.what() + "\n",
                      "text/plain");
    }
  });
  int bound = port == 0 ? srv.bind_to_any_port(host)
                        : (srv.bind_to_port(host, port) ? port : -1);
  if (bound <= 0)
    throw store_error(errc::backend_unavailable,
                      "cannot listen on " + host + ":" + std::to_string(port) +
                          " for metrics (in use, or not an address here?)",
                      "metrics");
  impl_->host = host;
  impl_->port = static_cast<std::uint16_t>(bound);
  impl_->listener = std::thread([this] {
    impl_->server.listen_after_bind();
    impl_->returned = true;
  });
  // stop() before the listener runs would be lost and the join would hang.
  while (!srv.is_running() && !impl_->returned)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  storage_log()->info("metrics on http://{}:{}/metrics", host, bound);
}

metrics_endpoint::~metrics_endpoint() {
  impl_->server.stop();
  if (impl_->listener.joinable()) impl_->listener.join();
}

const std::string& metrics_endpoint::host() const {
  return impl_->host;
}

std::uint16_t metrics_endpoint::port() const {
  return impl_->port;
}

}  // namespace storage
