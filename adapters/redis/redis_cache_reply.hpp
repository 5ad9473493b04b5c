// Redis replies read into the cache's results, apart from the socket so
// each reading can be tested (and fuzzed) on replies from hiredis's reader
// alone. Every function throws store_error, naming the connection's server
// and store: for an error reply, or internal for a reply of a shape the
// command never gives.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "adapters/cache_backend.hpp"
#include "adapters/redis/redis_cache_conn.hpp"

namespace storage {

[[noreturn]] void redis_unexpected(const redis_connection& conn,
                                   const char* op);

// Redis reports 0 ms for a key in its last millisecond: 1 then.
std::int64_t redis_live_ttl(long long pttl);

// Op's `n` replies (the commands redis_cache made for it) into `out`.
void redis_read_result(const redis_connection& conn, const cache_op& op,
                       const redis_reply* replies, std::size_t n,
                       cache_op_result& out);

// One SCAN reply: appends the keys starting with `prefix` and returns the
// next cursor.
std::string redis_read_scan(const redis_connection& conn,
                            const redisReply& reply, const std::string& prefix,
                            std::vector<std::string>& keys, const char* op);

// The EXEC answering MULTI, GET k, PTTL k (for each of `keys`), EXEC:
// appends the live string entries, named without their first `prefix_size`
// bytes.
void redis_read_entries(const redis_connection& conn, const redisReply& exec,
                        const std::vector<std::string>& keys,
                        std::size_t prefix_size, std::vector<cache_entry>& out);

}  // namespace storage
