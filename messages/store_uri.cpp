#include "messages/store_uri.hpp"

#include <cctype>

#include "messages/errors.hpp"

namespace storage {

namespace {

[[noreturn]] void bad(const std::string& redacted_uri,
                      const std::string& what) {
  throw store_error(errc::invalid_argument,
                    "bad store URI '" + redacted_uri + "': " + what);
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool decode(const std::string& in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int h = hex(in[i + 1]), l = hex(in[i + 2]);
    if (h < 0 || l < 0) return false;
    out += static_cast<char>(h * 16 + l);
    i += 2;
  }
  return true;
}

}  // namespace

store_uri store_uri::parse(const std::string& text) {
  store_uri u;
  u.text_ = text;
  auto shown = redact(text);
  auto sep = text.find("://");
  if (sep == std::string::npos || sep == 0) bad(shown, "expected scheme://...");
  u.scheme_ = text.substr(0, sep);
  for (char c : u.scheme_)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      bad(shown, "malformed scheme");
  std::string rest = text.substr(sep + 3);
  std::string query;
  if (auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest.resize(q);
  }
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string raw_path = slash == std::string::npos ? "" : rest.substr(slash);
  if (auto at = authority.rfind('@'); at != std::string::npos) {
    std::string info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = info.find(':');
    if (!decode(info.substr(0, colon), u.user_))
      bad(shown, "malformed user name");
    if (colon != std::string::npos &&
        !decode(info.substr(colon + 1), u.password_))
      bad(shown, "malformed password");
  }
  auto colon = authority.rfind(':');
  u.host_ = authority.substr(0, colon);
  if (colon != std::string::npos) {
    auto p = authority.substr(colon + 1);
    if (p.empty() || p.size() > 5 ||
        p.find_first_not_of("0123456789") != std::string::npos ||
        std::stol(p) == 0 || std::stol(p) > 65535)
      bad(shown, "port '" + p + "' is not a number from 1 to 65535");
    u.port_ = static_cast<std::uint16_t>(std::stol(p));
  }
  if (!decode(raw_path, u.path_)) bad(shown, "malformed path");
  std::size_t pos = 0;
  while (pos < query.size()) {
    auto amp = query.find('&', pos);
    auto item = query.substr(pos, amp == std::string::npos ? amp : amp - pos);
    pos = amp == std::string::npos ? query.size() : amp + 1;
    if (item.empty()) continue;
    auto eq = item.find('=');
    std::string k, v;
    if (eq == std::string::npos || !decode(item.substr(0, eq), k) ||
        !decode(item.substr(eq + 1), v) || k.empty())
      bad(shown, "malformed parameter '" + item + "'");
    if (!u.params_.emplace(k, v).second)
      bad(shown, "parameter '" + k + "' given twice");
  }
  return u;
}

std::string store_uri::redacted() const {
  return redact(text_);
}

std::optional<std::string> store_uri::param(const std::string& key) const {
  auto it = params_.find(key);
  if (it == params_.end()) return std::nullopt;
  return it->second;
}

std::string store_uri::param_or(const std::string& key,
                                const std::string& def) const {
  return param(key).value_or(def);
}

std::int64_t store_uri::int_param(const std::string& key, std::int64_t def,
                                  std::int64_t lo, std::int64_t hi) const {
  auto v = param(key);
  if (!v) return def;
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(*v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v->size() || n < lo || n > hi)
    bad(redacted(), "parameter " + key + "='" + *v +
                        "' must be an integer from " + std::to_string(lo) +
                        " to " + std::to_string(hi));
  return n;
}

void store_uri::check_params(std::initializer_list<const char*> known) const {
  for (auto& [k, v] : params_) {
    bool ok = false;
    for (auto* name : known) ok = ok || k == name;
    if (!ok) bad(redacted(), "unknown parameter '" + k + "'");
  }
}

}  // namespace storage
