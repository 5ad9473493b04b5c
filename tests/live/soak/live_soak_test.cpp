// The live-migration rounds, bigger and for minutes: more ids, more traffic
// on both sides of the migration, round after round until
// STORAGE_LIVE_SOAK_SECONDS (default 300) have passed. Not part of the
// default ctest run (see tests/CMakeLists.txt).
#include "cache_round.hpp"

namespace storage::test {
namespace {

std::chrono::seconds soak_time() {
  return std::chrono::seconds(
      std::stoi(env_or("STORAGE_LIVE_SOAK_SECONDS", "300")));
}

round_size soak_size() {
  round_size s;
  s.ids = 3000;
  s.callers = 8;
  s.before = std::chrono::milliseconds(2000);
  s.after = std::chrono::milliseconds(2000);
  return s;
}

TEST(live_soak, vector_rounds) {
  auto end = std::chrono::steady_clock::now() + soak_time() / 2;
  for (unsigned seed = 1; std::chrono::steady_clock::now() < end; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    vector_round(seed, soak_size());
    if (HasFailure()) break;
  }
}

TEST(live_soak, cache_rounds) {
  auto end = std::chrono::steady_clock::now() + soak_time() / 2;
  for (unsigned seed = 1; std::chrono::steady_clock::now() < end; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    cache_round(seed, soak_size());
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace storage::test
