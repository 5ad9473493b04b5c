#include "runtime/config_file.hpp"

#include <fstream>

#include "messages/errors.hpp"

namespace storage {

namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::map<std::string, std::string> read_section(const std::string& path,
                                                const std::string& wanted) {
  std::ifstream in(path);
  if (!in)
    throw store_error(errc::invalid_argument,
                      "cannot read config file '" + path + "'");
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
  return read_section(path, "stores");
}

tls_options read_tls_options(const std::string& path) {
  tls_options out;
  // [openssl] key=..., or CAF's dotted form openssl.key=... outside any
  // section or in [global].
  auto keys = read_section(path, "openssl");
  for (auto* section : {"", "global"})
    for (auto& [key, value] : read_section(path, section))
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
    else if (key == "passphrase")
      out.passphrase = value;
    else
      throw store_error(errc::invalid_argument,
                        path + ": unknown key '" + key +
                            "' in [openssl] (certificate, key, cafile, "
                            "capath, passphrase)");
  }
  return out;
}

}  // namespace storage
