// The [openssl] files a runtime is given, checked before CAF's OpenSSL
// module sees them. That module throws from deep inside the actor system
// for a half-configured TLS, and loads the key only at the first
// connection: an encrypted key without its passphrase made OpenSSL prompt
// on the terminal (blocking the call past its deadline), a wrong
// passphrase killed the node's middleman at its first client.
#pragma once

#include "runtime/node_options.hpp"

namespace storage {

// Throws store_error(invalid_argument), naming the file (never the
// passphrase): TLS configured without a certificate, a key and a CA; a file
// that cannot be read; a key that does not load with `passphrase` (none
// given for an encrypted key, a wrong one, or no PEM private key). Never
// prompts. Nothing to check when TLS is off.
void check_tls_files(const tls_options& t);

}  // namespace storage
