// Where the real test servers are. scripts/services.sh starts them on these
// loopback ports; environment variables override each URI. There is no skip:
// a test whose server is down fails.
#pragma once

#include <cstdlib>
#include <string>

namespace storage::test {

inline std::string env_or(const char* name, const char* def) {
  const char* v = std::getenv(name);
  return v && *v ? v : def;
}

inline std::string redis_uri() {
  return env_or("STORAGE_TEST_REDIS", "redis://127.0.0.1:56379/0");
}

inline std::string pgvector_uri() {
  return env_or(
      "STORAGE_TEST_PGVECTOR",
      "pgvector://storage:storage-secret@127.0.0.1:55432/storage_test");
}

inline std::string chroma_uri() {
  return env_or("STORAGE_TEST_CHROMA", "chroma://127.0.0.1:58000");
}

}  // namespace storage::test
