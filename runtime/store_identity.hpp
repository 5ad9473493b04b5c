// One store, however it is named: the key the runtime keeps its open stores
// by, so a store opened by its config name, by its URI and by another
// spelling of that URI gets one router (two routers over one FAISS
// directory would each miss the other's writes).
#pragma once

#include <string>

namespace storage {

// Lower-case scheme and host, the scheme's default port filled in, a file
// path made absolute and normal (symlinks resolved where the file exists),
// parameters in sorted order. Throws store_error for a URI that does not
// parse.
std::string store_identity(const std::string& uri);

}  // namespace storage
