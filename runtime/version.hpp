// The runtime's version: the one place it is written. CMake's project()
// reads the three numbers from here; storectl --version prints it.
#pragma once

#define STORAGE_VERSION_MAJOR 0
#define STORAGE_VERSION_MINOR 2
#define STORAGE_VERSION_PATCH 0

#define STORAGE_VERSION_STR_(x) #x
#define STORAGE_VERSION_STR(x) STORAGE_VERSION_STR_(x)

namespace storage {

inline constexpr int version_major = STORAGE_VERSION_MAJOR;
inline constexpr int version_minor = STORAGE_VERSION_MINOR;
inline constexpr int version_patch = STORAGE_VERSION_PATCH;
// "0.2.0"
inline constexpr const char* version_string =
    STORAGE_VERSION_STR(STORAGE_VERSION_MAJOR) "." STORAGE_VERSION_STR(
        STORAGE_VERSION_MINOR) "." STORAGE_VERSION_STR(STORAGE_VERSION_PATCH);

}  // namespace storage
