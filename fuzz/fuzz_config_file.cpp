// The INI reader of runtime/config_file.hpp, on text that never touches the
// disk (the istream overloads the path versions use). Properties: only
// store_error escapes; every key and value returned is non-empty; each TLS
// option is its key's (non-empty) value in the file, or empty if absent.
#include <cstdint>
#include <map>
#include <sstream>
#include <string>

#include "fuzz/fuzz_support.hpp"
#include "messages/errors.hpp"
#include "runtime/config_file.hpp"

namespace {

using storage::store_error;

void check_entries(const std::map<std::string, std::string>& m,
                   const std::string& what) {
  for (auto& [k, v] : m) {
    fuzz::check(!k.empty(), what + ": an empty key");
    fuzz::check(!v.empty(), what + ": an empty value for " + fuzz::shown(k));
  }
}

// The section names a file uses, plus the ones the runtime asks for.
std::string section_of(const std::string& text) {
  auto open = text.find('[');
  auto close = text.find(']', open);
  if (open == std::string::npos || close == std::string::npos) return "stores";
  return text.substr(open + 1, close - open - 1);
}

template <class F>
void only_store_error(F fn) {
  try {
    fn();
  } catch (const store_error&) {
    // malformed input, rejected as documented
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const std::string& section :
       {std::string("stores"), std::string("openssl"), std::string(),
        std::string("global"), section_of(text)})
    only_store_error([&] {
      std::istringstream in(text);
      check_entries(storage::read_section(in, "fuzz.ini", section),
                    "read_section [" + fuzz::shown(section) + "]");
    });
  only_store_error([&] {
    std::istringstream in(text);
    check_entries(storage::read_store_names(in, "fuzz.ini"),
                  "read_store_names");
  });
  only_store_error([&] {
    std::istringstream in(text);
    auto tls = storage::read_tls_options(in, "fuzz.ini");
    // Each field is the value its key has in the file (never empty), or
    // empty when the key is absent: [openssl] first, then dotted keys.
    std::map<std::string, std::string> keys;
    for (const char* section : {"openssl", "", "global"}) {
      std::istringstream again(text);
      for (auto& [k, v] : storage::read_section(again, "fuzz.ini", section)) {
        if (std::string(section) == "openssl")
          keys.emplace(k, v);
        else if (k.rfind("openssl.", 0) == 0)
          keys.emplace(k.substr(8), v);
      }
    }
    auto expect = [&](const char* key, const std::string& got) {
      auto it = keys.find(key);
      fuzz::check(
          got == (it == keys.end() ? "" : it->second),
          std::string("tls_options.") + key + " is " + fuzz::shown(got));
    };
    expect("certificate", tls.certificate);
    expect("key", tls.key);
    expect("cafile", tls.cafile);
    expect("capath", tls.capath);
    expect("passphrase", tls.passphrase);
  });
  return 0;
}
