// Which callers may run a request on their own thread, under the worker's
// adapter lock, when the worker holds nothing else: the hand-off to the
// worker and the one back, each a kernel wake-up of ~13 us here, are then
// saved.
#pragma once

namespace storage {

enum class inline_policy {
  // Always the worker's thread: operations that take milliseconds
  // (pgvector, Chroma, faiss://), where the hand-offs are noise and a call
  // must not hold up its caller.
  never,
  // Callers that are plain threads about to wait for the reply (the
  // facade; actors/pool/waiting_caller.hpp), on backends whose operations
  // take microseconds and whose I/O ends by the request's deadline (Redis,
  // SQLite). Never an actor: a CAF scheduler thread must not wait on a
  // socket.
  waiting_callers,
  // Any caller, CAF scheduler threads included: the adapter never waits on
  // I/O (memory://).
  any_caller,
};

}  // namespace storage
