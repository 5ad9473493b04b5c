#include "messages/secrets.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

namespace storage {

namespace {

constexpr std::size_t min_secret_size = 4;
// Every message is scrubbed of every secret, so the set must stay small even
// if something feeds it many (a peer node's requests name URIs). Beyond it,
// only the structural redaction protects a password.
constexpr std::size_t max_secrets = 256;

struct secret_set {
  std::mutex mutex;
  std::vector<std::string> secrets;  // longest first: a secret may contain one
  std::atomic<bool> empty{true};     // the common case costs one load
};

secret_set& known() {
  static secret_set s;
  return s;
}

}  // namespace

void remember_secret(const std::string& secret) {
  if (secret.size() < min_secret_size || secret == "***") return;
  auto& k = known();
  std::lock_guard<std::mutex> guard{k.mutex};
  if (k.secrets.size() >= max_secrets ||
      std::find(k.secrets.begin(), k.secrets.end(), secret) != k.secrets.end())
    return;
  auto pos = std::find_if(
      k.secrets.begin(), k.secrets.end(),
      [&](const std::string& s) { return s.size() < secret.size(); });
  k.secrets.insert(pos, secret);
  k.empty.store(false, std::memory_order_release);
}

std::string scrub_secrets(std::string text) {
  auto& k = known();
  if (k.empty.load(std::memory_order_acquire) || text.empty()) return text;
  std::lock_guard<std::mutex> guard{k.mutex};
  for (auto& s : k.secrets)
    for (auto pos = text.find(s); pos != std::string::npos;
         pos = text.find(s, pos + 3))
      text.replace(pos, s.size(), "***");
  return text;
}

}  // namespace storage
