#include "runtime/store_identity.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "messages/store_uri.hpp"

namespace storage {

namespace {

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::uint16_t default_port(const std::string& scheme) {
  if (scheme == "redis") return 6379;
  if (scheme == "pgvector") return 5432;
  if (scheme == "chroma") return 8000;
  return 0;
}

bool file_backed(const std::string& scheme) {
  return scheme == "sqlite" || scheme == "faiss";
}

}  // namespace

std::string store_identity(const std::string& uri) {
  auto u = store_uri::parse(uri);
  auto scheme = lower(u.scheme());
  std::string out = scheme + "://";
  if (!u.user().empty() || !u.password().empty())
    out += u.user() + ":" + u.password() + "@";
  out += lower(u.host());
  auto port = u.port() ? u.port() : default_port(scheme);
  if (port) out += ":" + std::to_string(port);
  std::string path = u.path();
  if (file_backed(scheme) && !path.empty()) {
    std::error_code ec;
    auto p =
        std::filesystem::weakly_canonical(std::filesystem::absolute(path), ec);
    if (!ec) path = p.lexically_normal().string();
    while (path.size() > 1 && path.back() == '/') path.pop_back();
  }
  out += path;
  char sep = '?';
  for (auto& [k, v] : u.params()) {  // a std::map: already sorted
    out += sep + k + "=" + v;
    sep = '&';
  }
  return out;
}

}  // namespace storage
