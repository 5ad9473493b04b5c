#include "runtime/config_file.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "messages/errors.hpp"
#include "messages/secrets.hpp"
#include "messages/store_uri.hpp"

namespace storage {

namespace {

// The whole file, read at once: a read that fails part way (a directory
// opens, then fails to read) is the same clear error as one that cannot
// open, not the stream library's exception.
std::istringstream open_config(const std::string& path) {
  auto cannot = [&](const std::string& why) {
    return store_error(errc::invalid_argument,
                       "cannot read config file '" + path + "'" + why);
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw cannot(": it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw cannot("");
  std::string text;
  try {
    text.assign(std::istreambuf_iterator<char>(in),
                std::istreambuf_iterator<char>());
  } catch (const std::exception& e) {
    throw cannot(std::string(": ") + e.what());
  }
  if (in.bad()) throw cannot("");
  return std::istringstream(text);
}

// One key's value. Lists and maps are parsed only to find where they end:
// no key the runtime reads takes one.
struct entry {
  std::string text;
  const char* not_a_string = nullptr;  // "a list" or "a map"
  int line = 0;
};
using ini_section = std::map<std::string, entry>;
using ini_file = std::map<std::string, ini_section>;  // "" before any header

bool name_start(int c) {
  return c >= 0 && (std::isalnum(c) || c == '_');
}
// '.' beyond CAF's key characters: nested section names ([a.b]) and the
// dotted openssl.* keys earlier versions read.
bool name_char(int c) {
  return name_start(c) || c == '-' || c == '.';
}

// CAF 0.17.6's INI grammar (caf/detail/parser/read_ini.hpp), plus what
// earlier versions of this reader accepted and CAF does not: '#' comment
// lines, '\r' as blank (CRLF files), unquoted values (up to a ';' comment)
// and dotted keys. Messages show a key or one character, never a value:
// values may hold passwords no one has redacted yet.
class ini_parser {
 public:
  ini_parser(const std::string& text, const std::string& path)
      : text_(text), path_(path) {}

  ini_file parse() {
    ini_file out;
    std::string section;
    for (int c = peek(); c != eof; c = peek()) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
        next();
      else if (c == ';' || c == '#')
        skip_comment();
      else if (c == '[')
        section = read_header();
      else if (name_start(c))
        read_key_value(section, out[section]);
      else
        fail("unexpected " + shown(c) +
             " (expected a key, a [section] or a ; comment)");
    }
    return out;
  }

 private:
  static constexpr int eof = -1;
  static constexpr int max_depth = 64;  // keeps a fuzzer's [[[[... on stack

  int peek() const {
    return pos_ < text_.size() ? static_cast<unsigned char>(text_[pos_]) : eof;
  }
  int next() {
    int c = peek();
    if (c == '\n') ++line_;
    if (c != eof) ++pos_;
    return c;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw store_error(errc::invalid_argument,
                      path_ + ":" + std::to_string(line_) + ": " + what);
  }
  static std::string shown(int c) {
    if (c == eof) return "end of file";
    if (c == '\n') return "end of line";
    if (std::isprint(c)) return std::string("'") + char(c) + "'";
    static const char hex[] = "0123456789abcdef";
    return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
  }
  void skip_blanks() {
    while (peek() == ' ' || peek() == '\t' || peek() == '\r') next();
  }
  void skip_comment() {  // leaves the '\n' for the caller
    while (peek() != eof && peek() != '\n') next();
  }
  // Blanks, line ends and ';' comments, as between items of a list or map;
  // true if a line ended.
  bool skip_space() {
    bool newline = false;
    for (int c = peek();; c = peek()) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
        newline = next() == '\n' || newline;
      else if (c == ';')
        skip_comment();
      else
        return newline;
    }
  }
  std::string read_name() {
    std::string name;
    while (name_char(peek())) name += char(next());
    return name;
  }

  std::string read_header() {
    next();  // '['
    skip_blanks();
    if (!name_start(peek()))
      fail("malformed section header: expected a name after '['");
    auto name = read_name();
    skip_blanks();
    if (peek() != ']') fail("malformed section header: expected ']'");
    next();
    return name;  // a key may follow on this line, as in CAF
  }

  // `key = value`, or CAF's `key { ... }`; the value's line is the key's.
  std::string read_assignment(int depth, entry& out) {
    auto key = read_name();
    skip_blanks();
    if (peek() == '=') {
      next();
      skip_blanks();
    } else if (peek() != '{') {
      fail("expected '=' after '" + key + "'");
    }
    int c = peek();
    if (c == eof || c == '\n' || c == ';' || (depth > 0 && c == '}'))
      fail("no value for '" + key + "'");
    out.line = line_;
    read_value(depth, out);
    return key;
  }

  void read_key_value(const std::string& name, ini_section& section) {
    entry value;
    auto key = read_assignment(0, value);
    skip_blanks();
    if (peek() == ';')
      skip_comment();
    else if (peek() != '\n' && peek() != eof)
      fail("unexpected " + shown(peek()) + " after the value of '" + key +
           "' (a comment starts with ';')");
    // A store named twice is a mistake whichever one was meant: nothing
    // says which. Elsewhere the last one wins, as in
    // actor_system_config::parse.
    auto was = section.find(key);
    if (name == "stores" && was != section.end())
      throw store_error(errc::invalid_argument,
                        path_ + ":" + std::to_string(value.line) + ": store '" +
                            key +
                            "' is named twice in [stores] "
                            "(first at line " +
                            std::to_string(was->second.line) + ")");
    section[key] = std::move(value);
  }

  void read_value(int depth, entry& out) {
    switch (peek()) {
      case '"':
        out.text = read_string();
        return;
      case '\'':  // a CAF atom
        out.text = read_until('\'', "atom", false);
        return;
      case '<': {  // a CAF URI, maybe with blanks inside the brackets
        auto uri = read_until('>', "<URI>", true);
        auto b = uri.find_first_not_of(" \t\r\n");
        auto e = uri.find_last_not_of(" \t\r\n");
        out.text = b == std::string::npos ? "" : uri.substr(b, e - b + 1);
        return;
      }
      case '[':
        read_items(depth + 1, ']');
        out.not_a_string = "a list";
        return;
      case '{':
        read_items(depth + 1, '}');
        out.not_a_string = "a map";
        return;
      default:
        break;
    }
    // A number, bool or timespan for CAF; inside a list or map it ends
    // where CAF's would.
    const char* stop = depth > 0 ? " \t\r\n,;]}" : "\n;";
    while (peek() != eof && !std::strchr(stop, peek()))
      out.text += char(next());
    if (out.text.empty()) fail("unexpected " + shown(peek()));
    out.text.erase(out.text.find_last_not_of(" \t\r") + 1);
  }

  // CAF's read_string: one line, escapes \n \r \t \\ \".
  std::string read_string() {
    next();  // '"'
    std::string out;
    for (;;) {
      int c = peek();
      if (c == eof || c == '\n')
        fail("unterminated string (a string ends on its line)");
      next();
      if (c == '"') return out;
      if (c != '\\') {
        out += char(c);
        continue;
      }
      static const std::string escapes = "nrt\\\"", chars = "\n\r\t\\\"";
      c = peek();
      auto i = c == eof ? std::string::npos : escapes.find(char(c));
      if (i == std::string::npos)
        fail("illegal escape sequence '\\" +
             (std::isprint(c) ? std::string(1, char(c)) : std::string()) +
             "' in a string (CAF reads \\n \\r \\t \\\\ \\\")");
      out += chars[i];
      next();
    }
  }

  std::string read_until(char close, const char* what, bool multiline) {
    next();  // the opening character
    std::string out;
    for (int c = peek(); c != close; c = peek()) {
      if (c == eof || (c == '\n' && !multiline))
        fail(std::string("unterminated ") + what);
      out += char(next());
    }
    next();
    return out;
  }

  // A list ('[' values ']', ',' between) or a map ('{' key=value ... '}',
  // ',' or a line end between); blanks, line ends and comments anywhere.
  void read_items(int depth, char close) {
    const std::string what = close == ']' ? "list" : "map";
    const auto opened = std::to_string(line_);
    if (depth > max_depth) fail("lists and maps nested too deep");
    next();  // '[' or '{'
    for (bool separated = true;;) {
      separated = skip_space() || separated;
      int c = peek();
      if (c == close) break;
      if (c == eof)
        fail("unterminated " + what + " (opened on line " + opened + ")");
      if (!separated || (close == '}' && !name_start(c)))
        fail("unexpected " + shown(c) + " in the " + what + " opened on line " +
             opened);
      entry item;
      if (close == '}')
        read_assignment(depth, item);
      else
        read_value(depth, item);
      separated = skip_space() && close == '}';
      if (peek() == ',') {
        next();
        separated = true;
      }
    }
    next();
  }

  const std::string& text_;
  const std::string& path_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

ini_file parse_ini(std::istream& in, const std::string& path) {
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  return ini_parser(text, path).parse();
}

// The string values of `name`'s keys that `wanted` accepts.
template <class Pred>
std::map<std::string, std::string> strings_of(const ini_file& file,
                                              const std::string& name,
                                              const std::string& path,
                                              Pred wanted) {
  std::map<std::string, std::string> out;
  auto s = file.find(name);
  if (s == file.end()) return out;
  auto where =
      name.empty() ? std::string("before any [section]") : "in [" + name + "]";
  for (auto& [key, value] : s->second) {
    if (!wanted(key)) continue;
    auto at = path + ":" + std::to_string(value.line) + ": ";
    if (value.not_a_string)
      throw store_error(errc::invalid_argument,
                        at + "'" + key + "' " + where + " is " +
                            value.not_a_string + ", not a string");
    if (value.text.empty())
      throw store_error(errc::invalid_argument,
                        at + "empty value for '" + key + "' " + where);
    out.emplace(key, value.text);
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> read_section(const std::string& path,
                                                const std::string& wanted) {
  auto in = open_config(path);
  return read_section(in, path, wanted);
}

std::map<std::string, std::string> read_section(std::istream& in,
                                                const std::string& path,
                                                const std::string& wanted) {
  return strings_of(parse_ini(in, path), wanted, path,
                    [](const std::string&) { return true; });
}

std::map<std::string, std::string> read_store_names(const std::string& path) {
  auto in = open_config(path);
  return read_store_names(in, path);
}

std::map<std::string, std::string> read_store_names(std::istream& in,
                                                    const std::string& path) {
  auto names = read_section(in, path, "stores");
  for (auto& [name, uri] : names) redact_uri(uri);  // remembers passwords
  return names;
}

std::optional<std::string> exposed_secrets_warning(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & (S_IRGRP | S_IROTH)) == 0)
    return std::nullopt;
  bool secret = false;
  for (auto& [name, uri] : read_section(path, "stores")) {
    try {
      secret = secret || !store_uri::parse(uri).password().empty();
    } catch (const store_error&) {
      secret = secret || uri.find('@') != std::string::npos;
    }
  }
  secret = secret || !read_tls_options(path).passphrase.empty();
  if (!secret) return std::nullopt;
  return "config file '" + path +
         "' holds a password and is readable by other users; make it "
         "readable by its owner only (chmod 600)";
}

tls_options read_tls_options(const std::string& path) {
  auto in = open_config(path);
  return read_tls_options(in, path);
}

tls_options read_tls_options(std::istream& in, const std::string& path) {
  auto file = parse_ini(in, path);
  tls_options out;
  // [openssl] key=..., or the dotted form openssl.key=... outside any
  // section or in [global] (CAF's command-line spelling; its INI parser
  // rejects dots in keys).
  auto keys = strings_of(file, "openssl", path,
                         [](const std::string&) { return true; });
  auto dotted = [](const std::string& key) {
    return key.rfind("openssl.", 0) == 0;
  };
  for (auto* name : {"", "global"})
    for (auto& [key, value] : strings_of(file, name, path, dotted))
      keys.emplace(key.substr(8), value);
  for (auto& [key, value] : keys) {
    if (key == "certificate")
      out.certificate = value;
    else if (key == "key")
      out.key = value;
    else if (key == "cafile")
      out.cafile = value;
    else if (key == "capath")
      out.capath = value;
    else if (key == "passphrase") {
      out.passphrase = value;
      remember_secret(value);
    } else
      throw store_error(errc::invalid_argument,
                        path + ": unknown key '" + key +
                            "' in [openssl] (certificate, key, cafile, "
                            "capath, passphrase)");
  }
  return out;
}

}  // namespace storage
