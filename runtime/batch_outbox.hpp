// Messages on their way across a node link, sent as one message_batch
// (node_protocol.hpp) per turn of the middleman's loop. Both ends use it: a
// client connection for its callers' requests (remote_link.hpp), a serving
// node for the replies to one client connection (node_inbox.hpp).
//
// Why: each BASP message costs both middlemen a wake-up, two reads and a
// dispatch; with many callers that, not the store, was the limit
// (BENCHMARKS.md, "remote"). Nothing waits for a batch to fill: the first
// message since the last flush posts the next one to the middleman's
// thread, and whatever arrived by the time it runs goes with it, in order.
// A lone message pays one more turn of the middleman's loop for it (1-4% of
// a remote call).
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include <caf/fwd.hpp>

#include "messages/node_protocol.hpp"

namespace storage {

class batch_outbox : public std::enable_shared_from_this<batch_outbox> {
 public:
  // Batches go to `to`, with `from` (may be null) as their sender.
  batch_outbox(caf::actor_system& sys, caf::strong_actor_ptr to,
               caf::strong_actor_ptr from);

  // Any thread. `actor` is a request's sender or a reply's receiver;
  // `deadline_us` a request's deadline (wall_clock_us(); 0: none).
  void add(caf::strong_actor_ptr actor, caf::message_id mid,
           caf::message content, std::int64_t deadline_us = 0);
  // Drops what has not gone yet (the link is gone).
  void clear();

 private:
  // In the middleman's thread.
  void flush(caf::execution_unit* mpx);

  caf::actor_system& sys_;
  const caf::strong_actor_ptr to_;
  const caf::strong_actor_ptr from_;
  std::mutex mtx_;
  std::vector<batched_message> items_;
  bool flush_posted_ = false;
};

}  // namespace storage
