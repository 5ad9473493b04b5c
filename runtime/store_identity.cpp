#include "runtime/store_identity.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "adapters/factories.hpp"
#include "messages/store_uri.hpp"
#include "runtime/backend_factory.hpp"

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

// Digits without leading zeros (`pool=01` is `pool=1` to the reader); other
// text as is.
std::string number_or_text(const std::string& v) {
  if (v.empty() || !std::all_of(v.begin(), v.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      }))
    return v;
  auto first = v.find_first_not_of('0');
  return first == std::string::npos ? "0" : v.substr(first);
}

// Parameters their readers parse as numbers (store_uri::int_param), where
// `0100` is `100`; any other value is text (`namespace=007` is not `7`).
bool numeric(const std::string& key) {
  static const std::set<std::string> keys{"build_memory_mb", "busy_timeout_ms",
                                          "ef_construction", "ef_search",
                                          "exact_below",     "m",
                                          "max_entries",     "max_inflight",
                                          "pipeline",        "pool",
                                          "snapshot_after",  "timeout_ms"};
  return keys.count(key) > 0;
}

// A parameter written at the default its reader uses (backend_factory.hpp
// for the pool's, each adapter for its own) names the same store as one
// left out. Only the parameters README lists for every store, the index
// kinds and Chroma's tenant and database; any other is kept as written.
bool at_default(const std::string& scheme, const std::string& key,
                const std::string& value) {
  if (key == "pool") return value == std::to_string(default_pool);
  if (key == "timeout_ms") return value == std::to_string(default_timeout_ms);
  if (key == "max_inflight")
    return value == std::to_string(default_max_inflight);
  if (key == "namespace")
    return value == "default" &&
           (scheme == "memory" || scheme == "sqlite" || scheme == "redis");
  if (scheme == "chroma" && (key == "tenant" || key == "database"))
    return value == "default_" + key;  // chroma_store.cpp's defaults
  if (key == "index")
    return (scheme == "faiss" && value == "flat") ||
           (scheme == "pgvector" && value == "hnsw");
  return false;
}

// Absolute and normal, symlinks resolved where the file exists.
std::string absolute_file(const std::string& file) {
  if (file.empty()) return file;  // the adapter says what is missing
  std::error_code ec;
  auto abs = std::filesystem::absolute(file, ec);
  if (ec) return file;
  auto p = std::filesystem::weakly_canonical(abs, ec);
  std::string out =
      ec ? abs.lexically_normal().string() : p.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

namespace {

// Whether parameter `key` selects where a store's data is (rather than how
// it is reached or searched): the namespace of a cache, Chroma's tenant and
// database. memory:// keeps all: each spelling is a store of its own.
bool selects_data(const std::string& scheme, const std::string& key) {
  if (scheme == "memory") return true;
  return key == "namespace" || key == "tenant" || key == "database";
}

// `host_as`, when given, stands for the URI's host.
std::string identity_of(const std::string& uri, bool data_only,
                        const std::string* host_as = nullptr) {
  auto u = store_uri::parse(uri);
  auto scheme = lower(u.scheme());
  std::string out = scheme + "://";
  if (!u.user().empty() || !u.password().empty())
    // Redis's ACL users share one keyspace: the user does not pick data.
    out += data_only ? (scheme == "redis" ? "" : u.user() + "@")
                     : u.user() + ":" + u.password() + "@";
  auto host = lower(u.host());
  std::string path = u.path();
  if (scheme == "faiss") {
    path = absolute_file(faiss_directory(u));
    host.clear();
  } else if (scheme == "sqlite") {
    if (host == "localhost") host.clear();
    if (!path.empty()) path = absolute_file(path);
  } else if (scheme == "redis") {
    // No database is database 0 (redis_cache.cpp).
    auto db = path.empty() ? "" : path.substr(1);
    path = "/" + number_or_text(db.empty() ? "0" : db);
  } else if (path == "/") {
    path.clear();  // memory:/// is memory://
  }
  if (host_as && !host.empty()) host = *host_as;
  out += host;
  auto port = u.port() ? u.port() : default_port(scheme);
  if (port) out += ":" + std::to_string(port);
  out += path;
  char sep = '?';
  for (auto& [k, v] : u.params()) {  // a std::map: already sorted
    if (at_default(scheme, k, number_or_text(v))) continue;
    if (data_only && !selects_data(scheme, k)) continue;
    out += sep + k + "=" + (numeric(k) ? number_or_text(v) : v);
    sep = '&';
  }
  return out;
}

// The addresses `host` resolves to, every loopback address as one: a
// server on 127.0.0.1 is reached as localhost too. Empty if it does not
// resolve.
std::set<std::string> addresses_of(std::string host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::set<std::string> out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return out;
  for (auto* a = found; a; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ai_family == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(a->ai_addr);
      if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) {
        out.insert("loopback");
        continue;
      }
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    } else if (a->ai_family == AF_INET6) {
      auto* in = reinterpret_cast<sockaddr_in6*>(a->ai_addr);
      if (IN6_IS_ADDR_LOOPBACK(&in->sin6_addr)) {
        out.insert("loopback");
        continue;
      }
      inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof text);
    } else {
      continue;
    }
    out.insert(text);
  }
  freeaddrinfo(found);
  return out;
}

}  // namespace

bool same_data(const std::string& a, const std::string& b) {
  if (data_identity(a) == data_identity(b)) return true;
  static const std::string any_host = "*";
  if (identity_of(a, true, &any_host) != identity_of(b, true, &any_host))
    return false;
  auto x = addresses_of(store_uri::parse(a).host());
  auto y = addresses_of(store_uri::parse(b).host());
  return std::any_of(x.begin(), x.end(),
                     [&](const std::string& addr) { return y.count(addr); });
}

std::string store_identity(const std::string& uri) {
  return identity_of(uri, false);
}

std::string data_identity(const std::string& uri) {
  return identity_of(uri, true);
}

}  // namespace storage
