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

}  // namespace storage::test
