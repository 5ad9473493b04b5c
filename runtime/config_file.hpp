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
//
// Read as CAF 0.17.6 reads an INI file: `;` starts a comment on a line of
// its own or after a value (inside quotes it is part of the string), strings
// take CAF's escapes (\n \r \t \\ \"), and atoms ('info'), numbers,
// booleans and <URI>s read as their text. The whole file must parse, lists
// and maps of other sections included, or the error names the file and line.
// Also read, as before: `#` comment lines, CRLF, unquoted values, dotted keys.
#pragma once

#include <istream>
#include <map>
#include <optional>
#include <string>

#include "runtime/node_options.hpp"

namespace storage {

// key -> string value of one section; a repeated key's last value (as CAF
// reads it), but a store named twice in [stores] is an error. Throws
// store_error(invalid_argument) if the file cannot be read or parsed, or a
// key of the section is empty, a list or a map.
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
