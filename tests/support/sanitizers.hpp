// What a test can measure under the sanitizer it was built with.
#pragma once

namespace storage::test {

// Resident memory reflects what our code keeps, except under
// AddressSanitizer, whose quarantine keeps freed blocks resident by design;
// the normal build checks memory figures.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool rss_measures_our_memory = false;
#else
inline constexpr bool rss_measures_our_memory = true;
#endif

// Instrumented code runs several times slower: a test whose point needs an
// operation to fit a short deadline gives it more room.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool instrumented = true;
#else
inline constexpr bool instrumented = false;
#endif

}  // namespace storage::test
