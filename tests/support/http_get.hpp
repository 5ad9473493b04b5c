// A plain HTTP/1.0 GET over a loopback socket, for scraping a metrics
// endpoint in tests without linking an HTTP client: status, headers (names
// lower-cased) and body.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

namespace storage::test {

struct http_reply {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

inline http_reply http_get(const std::string& host, std::uint16_t port,
                           const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("cannot connect to " + host + ":" +
                             std::to_string(port));
  }
  auto request = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
  for (std::size_t sent = 0; sent < request.size();) {
    auto n = send(fd, request.data() + sent, request.size() - sent, 0);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
    raw.append(buf, static_cast<std::size_t>(n));
  close(fd);
  http_reply r;
  auto end = raw.find("\r\n\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || end == std::string::npos)
    throw std::runtime_error("not an HTTP reply: " + raw.substr(0, 80));
  r.status = std::stoi(raw.substr(raw.find(' ') + 1, 3));
  auto head = raw.substr(0, end);
  for (std::size_t at = head.find("\r\n"); at != std::string::npos;) {
    auto next = head.find("\r\n", at + 2);
    auto line = head.substr(
        at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
    if (auto colon = line.find(':'); colon != std::string::npos) {
      auto name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(c));
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[name] = value;
    }
    at = next;
  }
  r.body = raw.substr(end + 4);
  return r;
}

}  // namespace storage::test
