# cmake --install / cpack: the public headers under include/storage/, the
# libraries, storectl, the CMake package (storage::runtime) and a
# pkg-config file. scripts/package_check.sh builds examples/downstream
# against what this installs.
include(CMakePackageConfigHelpers)

# The facade, the typed actor interfaces and the contract types, and what
# they include (each must compile on its own; package_check.sh checks).
set(storage_public_headers
  messages/caf_support.hpp messages/errors.hpp messages/filter.hpp
  messages/inspect.hpp
  messages/interfaces.hpp messages/limits.hpp messages/record_codec.hpp
  messages/records.hpp
  messages/store_uri.hpp messages/value.hpp
  adapters/cache_backend.hpp adapters/open_deadline.hpp
  adapters/vector_backend.hpp
  actors/migration/migration.hpp actors/migration/migration_verifier.hpp
  actors/pool/pool_spec.hpp actors/pool/inline_policy.hpp
  runtime/backend_factory.hpp runtime/cache_store.hpp
  runtime/live_migration.hpp runtime/migrate.hpp runtime/node_options.hpp
  runtime/metrics_endpoint.hpp runtime/runtime.hpp runtime/vector_store.hpp
  runtime/version.hpp messages/store_stats.hpp)
foreach(h ${storage_public_headers})
  get_filename_component(d ${h} DIRECTORY)
  install(FILES ${h} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/storage/${d})
endforeach()

# Static libraries, one per layer and adapter, exported as storage::<name>.
set(storage_installed_libs storage_messages storage_backend_base)
foreach(a memory_cache sqlite_cache redis_cache faiss_store pgvector_store
          chroma_store)
  list(APPEND storage_installed_libs storage_${a})
endforeach()
list(APPEND storage_installed_libs storage_adapters storage_actors
     storage_runtime)
set(STORAGE_PC_LIBS "")
foreach(t ${storage_installed_libs})
  string(REGEX REPLACE "^storage_" "" short ${t})
  set_target_properties(${t} PROPERTIES EXPORT_NAME ${short})
  get_target_property(kind ${t} TYPE)
  if(NOT kind STREQUAL "INTERFACE_LIBRARY")
    set(STORAGE_PC_LIBS "-l${t} ${STORAGE_PC_LIBS}")  # dependents first
  endif()
endforeach()
install(TARGETS ${storage_installed_libs} EXPORT storage_runtime_targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS storectl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(storage_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/storage_runtime)
install(EXPORT storage_runtime_targets NAMESPACE storage::
        FILE storage_runtimeTargets.cmake DESTINATION ${storage_cmake_dir})
configure_package_config_file(cmake/storage_runtimeConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/storage_runtimeConfig.cmake
  INSTALL_DESTINATION ${storage_cmake_dir})
# 0.x: a new minor version may break the API, so only the same minor
# satisfies a request.
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/storage_runtimeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/storage_runtimeConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/storage_runtimeConfigVersion.cmake
              cmake/storage_caf.cmake
        DESTINATION ${storage_cmake_dir})
# Relative to the .pc file, so the same file serves cmake --install's
# prefix and the .deb's /usr.
file(RELATIVE_PATH STORAGE_PC_UP /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
configure_file(cmake/storage_runtime.pc.in
               ${CMAKE_CURRENT_BINARY_DIR}/storage_runtime.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/storage_runtime.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# cpack: one .deb for Debian 12 with the headers, libraries, package files
# and storectl. The -dev packages it depends on bring the libraries the
# static archives need at link time; dpkg-shlibdeps adds storectl's.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME storage-runtime)
set(CPACK_PACKAGE_VENDOR "storage-runtime")
set(CPACK_PACKAGE_CONTACT "storage-runtime maintainers <storage-runtime@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Actor-based storage runtime on CAF 0.17: vector stores and caches")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libcaf-dev (>= 0.17.6), libcaf-dev (<< 0.18), libfaiss-dev, libpq-dev, libsqlite3-dev, libhiredis-dev, libspdlog-dev, nlohmann-json3-dev, libcurl4-openssl-dev, libcpp-httplib-dev, libssl-dev, pkg-config, cmake")
include(CPack)
