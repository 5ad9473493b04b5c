// What the runtime's own parts need of a runtime beyond its public API.
// Not installed.
#pragma once

#include <chrono>
#include <string>

#include "runtime/runtime.hpp"

namespace storage {

struct runtime_internals {
  // Makes every shard of the open vector store `name` open its backend now,
  // by a count of `collection` sent past the store's handle: the store's
  // own request, so its stats do not count it (store_stats.hpp). Waits up
  // to `timeout`. Throws store_error as the count failed, but for
  // collection_not_found.
  static void open_backend(runtime& rt, const std::string& name,
                           const std::string& collection,
                           std::chrono::milliseconds timeout);
};

}  // namespace storage
