// The sections of a CAF-style (INI) configuration file this runtime reads, so
// a CAF application and storectl can share one file:
//
//   [stores]
//   vectors="pgvector://app@127.0.0.1:5432/app"
//   cache="redis://127.0.0.1:6379/0?namespace=app"
//
//   [openssl]                     ; TLS between nodes (node_options.hpp)
//   certificate="/etc/app/node.pem"
//   key="/etc/app/node.key"
//   cafile="/etc/app/ca.pem"
#pragma once

#include <istream>
#include <map>
#include <optional>
#include <string>

#include "runtime/node_options.hpp"

namespace storage {

// key -> value of one section (quotes around a value removed). Throws
// store_error(invalid_argument) if the file cannot be read or a line of the
// section is malformed.
std::map<std::string, std::string> read_section(const std::string& path,
                                                const std::string& section);
// The same over text already open; `path` names it in messages.
std::map<std::string, std::string> read_section(std::istream& in,
                                                const std::string& path,
                                                const std::string& section);

// Name -> URI, from [stores].
std::map<std::string, std::string> read_store_names(const std::string& path);
std::map<std::string, std::string> read_store_names(std::istream& in,
                                                    const std::string& path);

// A warning to show if `path` is readable by group or others and holds a
// password (in a store URI or the TLS key's passphrase); nullopt otherwise.
std::optional<std::string> exposed_secrets_warning(const std::string& path);

// From [openssl] (or dotted openssl.* keys outside a section or in
// [global]); invalid_argument for a key CAF's OpenSSL module does not know.
tls_options read_tls_options(const std::string& path);
tls_options read_tls_options(std::istream& in, const std::string& path);

}  // namespace storage
