// Redis replies as redis_cache reads them
// (adapters/redis/redis_cache_reply.hpp): the input is fed to hiredis's reader,
// and every reply it produces goes to each reading, for every kind of cache op,
// and for the batches (mset's MULTI..EXEC) every run of consecutive replies.
// Property: whatever the server sends, only store_error escapes; what is read
// is what the reply says (a value is the string's bytes, a ttl is at least 1
// ms, mget answers one value per key).
#include <hiredis/hiredis.h>

#include <cstdint>
#include <string>
#include <vector>

#include "adapters/redis/redis_cache_reply.hpp"
#include "fuzz/fuzz_support.hpp"
#include "messages/errors.hpp"

namespace {

using namespace storage;

// hiredis 0.14 allocates an array of the announced size before reading
// its elements; those sizes are its business, not the cache's.
bool announces_huge_array(const std::uint8_t* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != '*') continue;
    std::size_t n = 0, j = i + 1;
    while (j < size && data[j] >= '0' && data[j] <= '9' && n <= 100000)
      n = n * 10 + (data[j++] - '0');
    if (n > 100000) return true;
  }
  return false;
}

const redis_connection& connection() {
  // Never connected: it only names the server and store in errors.
  static redis_connection conn([] {
    redis_options o;
    o.host = "fuzz";
    // A name, not a URI: errors then skip re-parsing it (no change to
    // what is read, and twice the speed).
    o.store = "fuzz-cache";
    return o;
  }());
  return conn;
}

template <class F>
void only_store_error(F fn) {
  try {
    fn();
  } catch (const store_error&) {
  }
}

cache_op op_of(cache_op_kind kind, const redisReply& r, std::size_t n) {
  cache_op op;
  op.kind = kind;
  op.key = "k";
  op.number = 7;
  std::size_t count = r.type == REDIS_REPLY_ARRAY ? r.elements : 1;
  if (kind == cache_op_kind::del || kind == cache_op_kind::mget)
    op.keys.assign(count, "k");
  // mset: MULTI, one SET per entry, EXEC.
  if (kind == cache_op_kind::mset)
    op.entries.assign(n >= 2 ? n - 2 : count, cache_entry{"k", "v", {}});
  return op;
}

void read_one(cache_op_kind kind, const redis_reply* replies, std::size_t n) {
  const redisReply& first = *replies[0];
  cache_op op = op_of(kind, *replies[n - 1], n);
  cache_op_result out;
  only_store_error([&] {
    redis_read_result(connection(), op, replies, n, out);
    if (kind == cache_op_kind::get && out.value)
      fuzz::check(first.type == REDIS_REPLY_STRING &&
                      *out.value == std::string(first.str, first.len),
                  "get read a value the reply does not hold");
    if (kind == cache_op_kind::mget)
      fuzz::check(out.values.size() == op.keys.size(),
                  "mget read " + std::to_string(out.values.size()) +
                      " values for " + std::to_string(op.keys.size()) +
                      " keys");
    if (kind == cache_op_kind::ttl && out.ttl.ttl)
      fuzz::check(out.ttl.exists && *out.ttl.ttl >= 1,
                  "ttl read " + std::to_string(*out.ttl.ttl));
  });
}

void read_scan(const redisReply& r) {
  const std::string prefix = "app:";
  std::vector<std::string> keys;
  only_store_error([&] {
    redis_read_scan(connection(), r, prefix, keys, "scan");
    for (auto& k : keys)
      fuzz::check(k.compare(0, prefix.size(), prefix) == 0,
                  "scan kept a key outside the namespace: " + fuzz::shown(k));
  });
  // The EXEC of GET/PTTL pairs for keys as SCAN would have found them.
  std::vector<std::string> wanted(
      r.type == REDIS_REPLY_ARRAY ? r.elements / 2 : 1, "app:key");
  std::vector<cache_entry> entries;
  only_store_error([&] {
    redis_read_entries(connection(), r, wanted, prefix.size(), entries);
    fuzz::check(entries.size() <= wanted.size(), "more entries than keys");
    for (auto& e : entries)
      fuzz::check(e.key == "key" && (!e.ttl || *e.ttl >= 1),
                  "scan entry " + fuzz::shown(e.key));
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (announces_huge_array(data, size)) return 0;
  redisReader* reader = redisReaderCreate();
  redisReaderFeed(reader, reinterpret_cast<const char*>(data), size);
  std::vector<redis_reply> replies;
  // A few replies show every reading; hundreds would only slow the run.
  while (replies.size() < 8) {
    void* r = nullptr;
    if (redisReaderGetReply(reader, &r) != REDIS_OK || !r) break;
    replies.emplace_back(static_cast<redisReply*>(r));
  }
  redisReaderFree(reader);
  const cache_op_kind kinds[] = {
      cache_op_kind::get,  cache_op_kind::set,    cache_op_kind::add,
      cache_op_kind::del,  cache_op_kind::exists, cache_op_kind::mget,
      cache_op_kind::incr, cache_op_kind::expire, cache_op_kind::ttl};
  for (std::size_t i = 0; i < replies.size(); ++i) {
    for (auto kind : kinds) read_one(kind, replies.data() + i, 1);
    read_scan(*replies[i]);
    // mset reads every reply of its run, the last one being EXEC's.
    for (std::size_t n = 1; i + n <= replies.size() && n <= 8; ++n)
      read_one(cache_op_kind::mset, replies.data() + i, n);
  }
  return 0;
}
