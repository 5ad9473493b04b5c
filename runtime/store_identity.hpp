// One store, however it is named: the key the runtime keeps its open stores
// by, so a store opened by its config name, by its URI and by another
// spelling of that URI gets one router (two routers over one FAISS
// directory would each miss the other's writes).
#pragma once

#include <string>

namespace storage {

// Lower-case scheme and host, the scheme's default port filled in, a file
// path made absolute and normal (symlinks resolved where the file exists;
// faiss://dir is the relative directory dir, sqlite://localhost/ is
// sqlite:///), Redis's database 0 written out, parameters in sorted order,
// numbers without leading zeros (max_entries=0100 is 100; text values such
// as namespace=007 stay as written), and those at their default left out
// (pool=1, timeout_ms=10000, max_inflight=1024, namespace=default,
// index=flat on faiss and hnsw on pgvector, Chroma's default_tenant and
// default_database; any other parameter counts as written). Throws
// store_error for a URI that does not parse.
std::string store_identity(const std::string& uri);

// Where a store's data is, without how it is reached: store_identity without
// the password (and Redis's user: ACL users share one keyspace), the pool,
// timeouts, bounds and index parameters (on
// memory://, where each store is its own data, all parameters stay). Two
// URIs with one data identity may be two stores of a runtime (a Redis
// namespace opened with pool=1 and pool=4) but never a migration's source
// and target.
std::string data_identity(const std::string& uri);

// Whether two URIs reach the same data: one data identity, or the same but
// for hosts that resolve to a common address (every loopback address counts
// as one: 127.0.0.1, ::1 and localhost reach one local server). Resolves the
// hosts, so it is for checks before a migration, not for every request.
bool same_data(const std::string& a, const std::string& b);

}  // namespace storage
