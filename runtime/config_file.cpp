#include "runtime/config_file.hpp"

#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "messages/errors.hpp"
#include "messages/secrets.hpp"
#include "messages/store_uri.hpp"

namespace storage {

namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::ifstream open_config(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw store_error(errc::invalid_argument,
                      "cannot read config file '" + path + "'");
  return in;
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
  std::map<std::string, std::string> out;
  std::string line, section;
  for (int no = 1; std::getline(in, line); ++no) {
    auto t = trim(line);
    if (t.empty() || t[0] == ';' || t[0] == '#') continue;
    if (t.front() == '[') {
      if (t.back() != ']')
        throw store_error(
            errc::invalid_argument,
            path + ":" + std::to_string(no) + ": malformed section header");
      section = trim(t.substr(1, t.size() - 2));
      continue;
    }
    if (section != wanted) continue;
    auto eq = t.find('=');
    if (eq == std::string::npos)
      throw store_error(errc::invalid_argument,
                        path + ":" + std::to_string(no) +
                            ": expected key=\"value\" in [" + wanted + "]");
    auto name = trim(t.substr(0, eq));
    auto value = trim(t.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (name.empty() || value.empty())
      throw store_error(
          errc::invalid_argument,
          path + ":" + std::to_string(no) + ": empty key or value");
    out[name] = value;
  }
  return out;
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
  // Three sections of one text: read it once.
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  auto section = [&](const char* name) {
    std::istringstream s(text);
    return read_section(s, path, name);
  };
  tls_options out;
  // [openssl] key=..., or CAF's dotted form openssl.key=... outside any
  // section or in [global].
  auto keys = section("openssl");
  for (auto* name : {"", "global"})
    for (auto& [key, value] : section(name))
      if (key.rfind("openssl.", 0) == 0) keys.emplace(key.substr(8), value);
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
