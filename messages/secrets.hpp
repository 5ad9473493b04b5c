// The second line of defence for passwords. The first is structural: every
// URI that reaches a message is printed through store_uri::redacted() or
// redact_uri(), which know where the password is. But text also arrives from
// places that never went through a parser — a server's error message, an
// argument CLI11 rejected — so every password this process has seen is
// remembered here, and messages, log lines and storectl's error line are
// scrubbed of each remembered password by exact match (no patterns).
#pragma once

#include <string>

namespace storage {

// Remembers `secret` (and nothing if it is shorter than 4 characters: those
// would blank out ordinary words; the structural redaction still hides them).
// Thread-safe; the set only grows, up to 256 secrets (then new ones are not
// remembered: scrubbing every message against any number would cost more
// than the structural redaction leaves to catch).
void remember_secret(const std::string& secret);

// `text` with every remembered secret replaced by ***.
std::string scrub_secrets(std::string text);

}  // namespace storage
