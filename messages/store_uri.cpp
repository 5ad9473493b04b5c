#include "messages/store_uri.hpp"

#include <algorithm>
#include <cctype>

#include "messages/errors.hpp"
#include "messages/secrets.hpp"

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

static bool is_port(const std::string& p) {
  return !p.empty() && p.size() <= 5 &&
         p.find_first_not_of("0123456789") == std::string::npos &&
         std::stol(p) > 0 && std::stol(p) <= 65535;
}

// What follows the host's ':' when it is no port may be a password that
// lost its '@' (redis://host:secret/0): it is never shown.
static std::string hide_bad_port(std::string text) {
  auto sep = text.find("://");
  if (sep == std::string::npos) return text;
  auto start = sep + 3;
  auto end = std::min(text.find_first_of("/?", start), text.size());
  auto at = text.rfind('@', end);
  if (at != std::string::npos && at >= start) start = at + 1;
  auto colon = text.rfind(':', end);
  if (colon == std::string::npos || colon < start) return text;
  auto close = text.find(']', start);
  if (close != std::string::npos && close > colon) return text;  // IPv6
  auto port = text.substr(colon + 1, end - colon - 1);
  if (port.empty() || is_port(port)) return text;
  return text.replace(colon + 1, port.size(), "***");
}

static std::string redact_unparsed(const std::string& text) {
  // Without a parse, the password's end is unknown: everything up to the
  // last '@' may be it. The scheme stays, so the message still says which
  // kind of store was meant.
  auto at = text.rfind('@');
  if (at == std::string::npos) return hide_bad_port(text);
  auto colon = text.find(':');
  std::size_t keep = 0;
  if (colon != std::string::npos && colon < at) {
    keep = colon + 1;
    while (keep < at && text[keep] == '/') ++keep;
  }
  if (auto c = text.find(':', keep); c < at)
    remember_secret(text.substr(c + 1, at - c - 1));
  return hide_bad_port(text.substr(0, keep) + "***" + text.substr(at));
}

std::string redact_uri(const std::string& text) {
  try {
    return store_uri::parse(text).redacted();
  } catch (const store_error&) {
    return redact_unparsed(text);
  }
}

store_uri store_uri::parse(const std::string& given) {
  // Schemes are case-insensitive (RFC 3986): REDIS:// is redis://, in
  // every use and in what is shown.
  std::string text = given;
  auto scheme_end = text.find("://");
  if (scheme_end == std::string::npos) scheme_end = 0;
  for (std::size_t i = 0; i < scheme_end; ++i)
    text[i] =
        static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  store_uri u;
  u.redacted_ = text;
  auto fail = [&](const std::string& what) {
    bad(redact_unparsed(text), what);
  };
  auto sep = text.find("://");
  if (sep == std::string::npos || sep == 0) fail("expected scheme://...");
  u.scheme_ = text.substr(0, sep);
  for (char c : u.scheme_)
    if (!std::isalnum(static_cast<unsigned char>(c))) fail("malformed scheme");
  std::string rest = text.substr(sep + 3);
  // The authority ends at the first '/' or '?'. If it is not empty (no
  // file path follows "://"), an '@' after it means a
  // user name or password holds a raw '/' or '?': parsing on would take part
  // of the password for a host, a port or a path and might connect to it.
  auto end = rest.find_first_of("/?");
  if (end != std::string::npos && end > 0 &&
      rest.find('@', end) != std::string::npos)
    fail(
        "an '@' after the host: write '/', '?' and '@' in a user name, "
        "password, path or parameter value percent-encoded (%2F, %3F, "
        "%40)");
  std::string authority = rest.substr(0, end);
  std::string tail = end == std::string::npos ? "" : rest.substr(end);
  if (auto at = authority.rfind('@'); at != std::string::npos) {
    std::string info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = info.find(':');
    if (colon != std::string::npos && colon + 1 < info.size()) {
      // Remembered before decoding can fail, so no message can show it.
      remember_secret(info.substr(colon + 1));
      if (!decode(info.substr(colon + 1), u.password_))
        fail("malformed password");
      remember_secret(u.password_);
      u.redacted_ = text.substr(0, sep + 3) + info.substr(0, colon) + ":***@" +
                    authority + tail;
    }
    if (!decode(info.substr(0, colon), u.user_)) fail("malformed user name");
  }
  // No authority, but "user:pw@" further on: most likely a slash too many
  // (pgvector:///user:pw@host/db). Read as a path, it would be shown.
  if (authority.empty()) {
    auto at = tail.rfind('@');
    if (at != std::string::npos && tail.find(':') < at)
      fail(
          "no host, but 'user:password@' after it: one '/' too many? "
          "(write scheme://user:password@host/..., or a ':' or '@' in a "
          "path percent-encoded: %3A, %40)");
  }
  std::string query;
  if (auto q = tail.find('?'); q != std::string::npos) {
    query = tail.substr(q + 1);
    tail.resize(q);
  }
  auto colon = authority.rfind(':');
  // An IPv6 address stands in brackets, the port after them; a stray
  // bracket would reach the resolver and read as an unreachable server.
  if (authority.find_first_of("[]") != std::string::npos) {
    auto close = authority.find(']');
    if (authority[0] != '[' || close == std::string::npos ||
        authority.find_first_of("[]", 1) != close ||
        (close + 1 < authority.size() && authority[close + 1] != ':'))
      bad(u.redacted_,
          "malformed host: an IPv6 address goes in brackets, as "
          "[::1]:port");
    colon = close + 1 < authority.size() ? close + 1 : std::string::npos;
  }
  u.host_ = authority.substr(0, colon);
  if (colon != std::string::npos) {
    auto p = authority.substr(colon + 1);
    if (!is_port(p)) {
      // Perhaps a password that lost its '@' (digits or not, short or
      // long): never shown, here, in redact_uri or in the error's store.
      remember_secret(p);
      bad(hide_bad_port(u.redacted_),
          "the port is not a number from 1 to 65535 (a password goes in "
          "scheme://user:password@host)");
    }
    u.port_ = static_cast<std::uint16_t>(std::stol(p));
  }
  if (!decode(tail, u.path_)) bad(u.redacted_, "malformed path");
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
      bad(u.redacted_, "malformed parameter '" + item + "'");
    if (!u.params_.emplace(k, v).second)
      bad(u.redacted_, "parameter '" + k + "' given twice");
  }
  return u;
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
