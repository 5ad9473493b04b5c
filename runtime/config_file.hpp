// The [stores] section of a CAF-style (INI) configuration file, so a CAF
// application and storectl can share one file:
//
//   [stores]
//   vectors="pgvector://app@127.0.0.1:5432/app"
//   cache="redis://127.0.0.1:6379/0?namespace=app"
#pragma once

#include <map>
#include <string>

namespace storage {

// Name -> URI. Throws store_error(invalid_argument) if the file cannot be
// read or a line of the section is malformed.
std::map<std::string, std::string> read_store_names(const std::string& path);

}  // namespace storage
