#include "runtime/tls_files.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include "messages/errors.hpp"

namespace storage {

namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw store_error(errc::invalid_argument, message, "open");
}

// OpenSSL asks for the passphrase through this callback; without one it
// would read the terminal. Empty: the load fails instead.
int give_passphrase(char* buf, int size, int, void* user) {
  auto& pass = *static_cast<const std::string*>(user);
  if (pass.empty() || pass.size() > static_cast<std::size_t>(size)) return 0;
  std::memcpy(buf, pass.data(), pass.size());
  return static_cast<int>(pass.size());
}

void check_key(const std::string& path, const std::string& passphrase) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "r"),
                                          &std::fclose);
  if (!f) invalid("cannot read TLS file '" + path + "'");
  auto* key = PEM_read_PrivateKey(f.get(), nullptr, give_passphrase,
                                  const_cast<std::string*>(&passphrase));
  ERR_clear_error();
  if (key) {
    EVP_PKEY_free(key);
    return;
  }
  invalid("cannot load the TLS key '" + path + "': " +
          (passphrase.empty()
               ? "it is encrypted (or not a PEM private key) and "
                 "openssl.passphrase is not set"
               : "openssl.passphrase does not decrypt it (or it is not a PEM "
                 "private key)"));
}

}  // namespace

void check_tls_files(const tls_options& t) {
  if (!t.enabled()) return;
  if (t.certificate.empty() || t.key.empty() ||
      (t.cafile.empty() && t.capath.empty()))
    invalid(
        "TLS needs all of openssl.certificate, openssl.key and "
        "openssl.cafile (or openssl.capath)");
  for (auto* f : {&t.certificate, &t.key, &t.cafile})
    if (!f->empty() && !std::ifstream(*f))
      invalid("cannot read TLS file '" + *f + "'");
  check_key(t.key, t.passphrase);
}

}  // namespace storage
