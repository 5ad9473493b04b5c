// The directory actor a serving node publishes (node_protocol.hpp).
#pragma once

#include <utility>
#include <vector>

#include "messages/node_protocol.hpp"

namespace storage {

class runtime;

// `stores`: each served store's handle and description. Live migrations
// asked for through the directory run in `rt`, which must outlive it.
node_directory_actor spawn_node_directory(
    runtime& rt,
    std::vector<std::pair<caf::strong_actor_ptr, served_store>> stores);

}  // namespace storage
