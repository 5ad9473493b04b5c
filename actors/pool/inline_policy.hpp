// Which callers may run a request on their own thread, under the worker's
// adapter lock, when the worker holds nothing else: the hand-off to the
// worker and the one back, each a kernel wake-up of ~13 us here, are then
// saved.
#pragma once

namespace storage {

enum class inline_policy {
  // Always the worker's thread: operations that take milliseconds on a
  // socket (pgvector, Chroma), where the hand-offs are noise and a call
  // must not hold up its caller.
  never,
  // Callers that are plain threads about to wait for the reply (the
  // facade; actors/pool/waiting_caller.hpp), on backends whose operations
  // are short next to two kernel wake-ups and end by the request's deadline
  // (Redis, SQLite, faiss://). Never an actor: a CAF scheduler thread must
  // not wait on a socket, or on a faiss:// collection that is loading. A
  // call that failed that way or took 100 ms or more sends the worker's
  // next requests to its thread for a second (worker_core.hpp).
  waiting_callers,
  // As waiting_callers, and besides an actor on its own thread (a CAF
  // scheduler thread; not a node's middleman) for a read that waits for no
  // lock (worker_core.hpp, runs_at_once): on SQLite a point read (get,
  // mget, exists, ttl) on a connection already open, since in WAL mode a
  // reader never waits for a writer and the rows come from the page cache
  // in microseconds; on faiss:// a search of a collection in memory whose
  // shard nothing else holds (vector_backend::searches_from_memory).
  // Opening a file or loading a collection can wait, so those reads go to
  // the worker; a read that timed out or took 100 ms or more hands the next
  // requests to the worker as above.
  waiting_callers_and_ready_reads,
  // Any caller, CAF scheduler threads included: the adapter never waits on
  // I/O (memory://).
  any_caller,
};

}  // namespace storage
