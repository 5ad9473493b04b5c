// Store URIs: store_uri::parse and redact_uri. Properties:
// - redact_uri never throws, and equals redacted() when the text parses;
// - a URI that parses reads back from its redacted() form with the same
//   scheme, user, host, port, path and parameters, the password "***" if it
//   had one (empty otherwise), and the same redacted() text;
// - a URI that does not parse names no password in its error: the text
//   between "://" and the last '@', after that segment's first ':', is
//   neither in the message nor in redact_uri's output, when it is at least
//   6 characters long, occurs exactly once in the input and holds no '*'
//   (shorter or repeated text may legitimately appear elsewhere, and
//   "***" is what replaces it). Where the message holds it, the same text
//   with that piece's letters and digits changed (which parses the same
//   way) must fail with a message holding it too: the fixed wording, not
//   the input, then put it there ("t: bad store" is in "invalid_argument:
//   bad store URI").
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz/fuzz_support.hpp"
#include "messages/errors.hpp"
#include "messages/store_uri.hpp"

namespace {

using storage::store_error;
using storage::store_uri;

struct piece {
  std::size_t pos;
  std::string text;
};

// The text a password would be (see the top), where it is in `text`.
std::optional<piece> password_piece(const std::string& text) {
  auto sep = text.find("://");
  auto at = text.rfind('@');
  if (sep == std::string::npos || at == std::string::npos || at < sep + 3)
    return std::nullopt;
  auto colon = text.find(':', sep + 3);
  if (colon >= at) return std::nullopt;
  piece p{colon + 1, text.substr(colon + 1, at - colon - 1)};
  // With a '*' it may be found again across the "***" put in its place.
  if (p.text.size() < 6 || p.text.find('*') != std::string::npos)
    return std::nullopt;
  auto first = text.find(p.text);
  if (text.find(p.text, first + 1) != std::string::npos) return std::nullopt;
  return p;
}

// `text` with the piece's letters and digits changed and nothing else:
// the same separators and the same valid or invalid %-escapes, so it
// parses (and fails) the same way, quoting other characters.
std::string rotated(std::string text, const piece& p) {
  auto turn = [](char c, char first, char last) {
    return c == last ? first : static_cast<char>(c + 1);
  };
  for (std::size_t i = p.pos; i < p.pos + p.text.size(); ++i) {
    char& c = text[i];
    if (c >= '0' && c <= '9')
      c = turn(c, '0', '9');
    else if (c >= 'a' && c <= 'f')
      c = turn(c, 'a', 'f');
    else if (c >= 'A' && c <= 'F')
      c = turn(c, 'A', 'F');
    else if (c >= 'g' && c <= 'z')
      c = turn(c, 'g', 'z');
    else if (c >= 'G' && c <= 'Z')
      c = turn(c, 'G', 'Z');
  }
  return text;
}

void check_parsed(const std::string& text, const store_uri& u,
                  const std::string& redacted) {
  const std::string at = " for " + fuzz::shown(text);
  fuzz::check(redacted == u.redacted(),
              "redact_uri differs from redacted()" + at);
  store_uri v;
  try {
    v = store_uri::parse(u.redacted());
  } catch (const store_error& e) {
    fuzz::fail("redacted() " + fuzz::shown(u.redacted()) +
               " does not parse: " + e.what() + at);
  }
  fuzz::check(v.scheme() == u.scheme(), "scheme differs" + at);
  fuzz::check(v.user() == u.user(), "user differs" + at);
  fuzz::check(v.host() == u.host(), "host differs" + at);
  fuzz::check(v.port() == u.port(), "port differs" + at);
  fuzz::check(v.path() == u.path(), "path differs" + at);
  fuzz::check(v.params() == u.params(), "parameters differ" + at);
  fuzz::check(
      v.password() == (u.password().empty() ? "" : "***"),
      "password of the redacted form is " + fuzz::shown(v.password()) + at);
  fuzz::check(
      v.redacted() == u.redacted(),
      "redacted() of the redacted form is " + fuzz::shown(v.redacted()) + at);
}

// The error names the piece only where its fixed wording happens to hold
// it: the same error for the rotated text holds it too.
void check_rejected(const std::string& text, const store_error& e,
                    const std::optional<store_error>& again) {
  auto p = password_piece(text);
  if (!p) return;
  const std::string what = e.what();
  if (what.find(p->text) == std::string::npos) return;
  fuzz::check(
      again && std::string(again->what()).find(p->text) != std::string::npos,
      "the error shows the password " + fuzz::shown(p->text) + ": " +
          fuzz::shown(what));
}

void check_redacted(const std::string& text, const std::string& redacted) {
  auto p = password_piece(text);
  if (!p) return;
  fuzz::check(redacted.find(p->text) == std::string::npos,
              "redact_uri shows the password " + fuzz::shown(p->text) + ": " +
                  fuzz::shown(redacted));
}

std::optional<store_error> error_of(const std::string& text, store_uri& u) {
  try {
    u = store_uri::parse(text);
  } catch (const store_error& e) {
    return e;
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // parse before redact_uri: redact_uri remembers the password
  // (secrets.hpp), and the error must hide it without that help. (Earlier
  // inputs' passwords stay remembered: an input is checked most strictly
  // when run on its own.)
  store_uri u, v;
  auto error = error_of(text, u);
  std::optional<store_error> again;
  if (error)
    if (auto p = password_piece(text)) again = error_of(rotated(text, *p), v);
  // Outside any try: redact_uri must not throw anything.
  const std::string redacted = storage::redact_uri(text);
  if (error) {
    check_rejected(text, *error, again);
    check_redacted(text, redacted);
  } else {
    check_parsed(text, u, redacted);
  }
  return 0;
}
