// What a faiss:// URI asks for, checked without opening anything: the
// store's constructor and the runtime's check at open (factories.hpp) read
// it the same way.
#pragma once

#include <cstdint>
#include <string>

#include "adapters/faiss/faiss_store_index.hpp"
#include "messages/store_uri.hpp"

namespace storage::faiss_detail {

struct uri_settings {
  index_options index;
  bool full_sync = false;  // sync=full
  bool snapshots = true;   // snapshot=on
  std::uint64_t snapshot_after = 0;
  std::string dir;  // the store's directory; a shard's is below it
};

// Throws store_error(invalid_argument) naming the parameter.
uri_settings settings_of(const store_uri& uri);

}  // namespace storage::faiss_detail
