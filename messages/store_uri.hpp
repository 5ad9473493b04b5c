// A store named by a URI:
// scheme://[user[:password]@]host[:port][/path][?k=v&..] Parsing only; what
// each parameter means is up to the runtime and adapters.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>

namespace storage {

class store_uri {
 public:
  // Throws store_error(invalid_argument) naming what is malformed; the
  // message never contains the password. A password is remembered
  // (secrets.hpp) so text from elsewhere can be scrubbed of it too. '/', '?'
  // and '@' in a password must be percent-encoded, except that a raw '@' is
  // taken as the password's (the last '@' of the authority ends it).
  static store_uri parse(const std::string& text);

  const std::string& scheme() const { return scheme_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }       // 0 when absent
  const std::string& path() const { return path_; }  // percent-decoded
  const std::map<std::string, std::string>& params() const { return params_; }

  // The URI as given, with the password (if any) replaced by ***; built
  // from the parse, so it holds whatever characters the password had.
  const std::string& redacted() const { return redacted_; }

  std::optional<std::string> param(const std::string& key) const;
  std::string param_or(const std::string& key, const std::string& def) const;
  // Throws invalid_argument unless the value is an integer in [lo, hi].
  std::int64_t int_param(const std::string& key, std::int64_t def,
                         std::int64_t lo, std::int64_t hi) const;
  // Throws invalid_argument naming the first parameter not in `known`.
  void check_params(std::initializer_list<const char*> known) const;

 private:
  std::string redacted_;
  std::string scheme_, user_, password_, host_, path_;
  std::uint16_t port_ = 0;
  std::map<std::string, std::string> params_;
};

// `text` as it may be shown: store_uri::redacted() if it parses; otherwise
// with everything between the scheme and the last '@' replaced by ***.
std::string redact_uri(const std::string& text);

}  // namespace storage
