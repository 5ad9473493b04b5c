// What a store has done, as runtime::stats reports it, `storectl stats`
// prints it (one JSON line per store) and a node's metrics endpoint exposes
// it (the Prometheus text format). Counters run from the store's opening in
// this process; they survive a swap and a live migration's cutover (they
// belong to the store, not to a backend).
//
// A request counts once, when it is answered, under the operation it asked
// for; its latency runs from the moment its caller handed it to the store
// to the moment its reply was sent (waiting in a queue included). A
// migration's own traffic (backfill, mirrors, verification) is not counted
// as requests.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace storage {

// Latency buckets: bucket i holds what took less than 2^i microseconds
// (bucket 0: under 1 us), the last one what took longer than any bound.
constexpr std::size_t latency_buckets = 28;
// Bucket i's upper bound in seconds; +infinity for the last.
double latency_bound(std::size_t i);

struct op_stats {
  std::string op;              // "get", "upsert", "delete", ...
  std::uint64_t requests = 0;  // answered, errors included
  // Errors by their code's contract name ("timeout", "overloaded", ...).
  std::map<std::string, std::uint64_t> errors;
  std::vector<std::uint64_t> buckets;  // latency_buckets counts
  double sum_seconds = 0;
  // From the histogram (within its bucket's factor of 2, never above max);
  // max is exact.
  double p50 = 0, p90 = 0, p99 = 0, max = 0;  // seconds
};

struct worker_stats {
  bool alive = true;         // false while the worker is being respawned
  std::uint32_t queued = 0;  // requests queued on it or running
};

// The store's live migration, the last one this process started.
struct migration_stats {
  std::string state;   // live_state's name: backfill, verify, done, ...
  std::string target;  // redacted URI
  std::uint64_t copied = 0;
  std::uint64_t total = 0;  // source records at the start (caches: 0)
  std::uint64_t verified = 0;
  double seconds = 0;
  double rate = 0;  // records copied per second
  // Writes accepted by the store and not yet applied on the other side
  // (the target before cutover, the source while mirroring back).
  std::uint64_t mirror_lag = 0;
  bool mirroring_back = false;
};

struct store_stats {
  std::string store;            // as the caller named it (a URI redacted)
  std::string kind;             // "vector" or "cache"
  std::string backend;          // the serving backend's redacted URI
  std::uint64_t in_flight = 0;  // admitted, not yet answered
  std::uint64_t max_in_flight = 0;
  std::vector<worker_stats> workers;  // the pool; size() is its size
  std::uint32_t live_workers = 0;
  // Connections made again after a request failed because its connection
  // was lost, counted when a request succeeds on the new one: a server
  // that was never reached, or is still down, counts none (an adapter that
  // silently reconnects between requests, as pgvector's and Redis's do
  // when they find an idle connection closed, is not seen here).
  std::uint64_t reconnects = 0;
  std::uint64_t respawns = 0;  // workers restarted after they died
  // Batches run, the requests they carried and the deepest one: on a
  // cache, pipelines (one round trip each on Redis); on a vector store,
  // upserts a faiss:// shard ran as one (one transaction each).
  std::uint64_t batches = 0;
  std::uint64_t batched_requests = 0;
  std::uint64_t max_batch_depth = 0;
  std::vector<op_stats> ops;  // operations with at least one request
  std::optional<migration_stats> migration;
};

// One JSON object on one line; latencies in microseconds (p50_us, ...).
// store_stats_from_json reads what to_json wrote (a node's answer to a
// stats request) and throws store_error (invalid_argument) for anything
// else.
std::string to_json(const store_stats& s);
store_stats store_stats_from_json(const std::string& text);

// The Prometheus text exposition (format 0.0.4) of `stores`:
// storage_requests_total{store,kind,op}, storage_request_errors_total
// {...,code}, storage_request_duration_seconds (a histogram), ... (see
// README "Operate it").
std::string prometheus_text(const std::vector<store_stats>& stores);

}  // namespace storage
