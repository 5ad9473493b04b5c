# CAF 0.17.6 as Debian ships it has no CMake config and no pkg-config file:
# find it here and define storage::caf. Used by the build and, installed
# beside storage_runtimeConfig.cmake, by every project that finds the
# package, so both link the same CAF.
if(TARGET storage::caf)
  return()
endif()
find_package(OpenSSL REQUIRED)
find_path(STORAGE_CAF_INCLUDE_DIR caf/all.hpp)
find_library(STORAGE_CAF_CORE_LIBRARY caf_core)
find_library(STORAGE_CAF_IO_LIBRARY caf_io)
find_library(STORAGE_CAF_OPENSSL_LIBRARY caf_openssl)
if(NOT STORAGE_CAF_INCLUDE_DIR OR NOT STORAGE_CAF_CORE_LIBRARY
   OR NOT STORAGE_CAF_IO_LIBRARY OR NOT STORAGE_CAF_OPENSSL_LIBRARY)
  message(FATAL_ERROR "CAF 0.17 not found (Debian: apt install libcaf-dev)")
endif()
file(STRINGS ${STORAGE_CAF_INCLUDE_DIR}/caf/config.hpp _storage_caf_ver
     REGEX "define CAF_VERSION [0-9]+")
string(REGEX MATCH "[0-9]+" STORAGE_CAF_VERSION "${_storage_caf_ver}")
if(STORAGE_CAF_VERSION LESS 1700 OR STORAGE_CAF_VERSION GREATER_EQUAL 1800)
  message(FATAL_ERROR "CAF 0.17 required, found ${STORAGE_CAF_VERSION}")
endif()
add_library(storage::caf INTERFACE IMPORTED)
set_target_properties(storage::caf PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${STORAGE_CAF_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES
    "${STORAGE_CAF_OPENSSL_LIBRARY};${STORAGE_CAF_IO_LIBRARY};${STORAGE_CAF_CORE_LIBRARY};OpenSSL::SSL;OpenSSL::Crypto")
