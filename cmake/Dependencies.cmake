# Every dependency comes from a Debian 12 package (see scripts/install-deps.sh).
find_package(PkgConfig REQUIRED)
pkg_check_modules(UV REQUIRED IMPORTED_TARGET libuv)
# c-ares 1.18.1 (Debian 12): the old API only (ares_send + the ares_parse_*_reply helpers), see policy/dns.
pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares)
find_package(tomlplusplus 3 CONFIG REQUIRED)
find_package(nlohmann_json 3.11 CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(Threads REQUIRED)
# zlib (zlib1g-dev): `mxguard audit` reads gzip-compressed audit files and writes TLS-RPT's .json.gz.
find_package(ZLIB REQUIRED)
# libcurl for mxguard-fetch only: the GnuTLS build (libcurl4-gnutls-dev), so that no process ever holds both
# OpenSSL and BoringSSL (dependencies.md). libcurl.so is libcurl-gnutls.so there; tests/ checks the result.
find_package(CURL REQUIRED)
if(MXGUARD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()

# BoringSSL: Debian ships it as android-libboringssl-dev, with neither a CMake config nor a .pc file.
# OpenSSL 3 is on the machine too; never let a bare -lssl or find_package(OpenSSL) pick it up.
set(BORINGSSL_INCLUDE_DIR /usr/include/android)
set(BORINGSSL_LIB_DIR /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/android)
foreach(lib IN ITEMS crypto ssl)
  if(NOT EXISTS ${BORINGSSL_LIB_DIR}/lib${lib}.so.0)
    message(FATAL_ERROR "BoringSSL lib${lib}.so.0 not found in ${BORINGSSL_LIB_DIR}: install android-libboringssl-dev")
  endif()
  add_library(boringssl::${lib} SHARED IMPORTED)
  set_target_properties(boringssl::${lib} PROPERTIES
    IMPORTED_LOCATION ${BORINGSSL_LIB_DIR}/lib${lib}.so.0
    INTERFACE_INCLUDE_DIRECTORIES ${BORINGSSL_INCLUDE_DIR})
endforeach()
set_target_properties(boringssl::ssl PROPERTIES INTERFACE_LINK_LIBRARIES boringssl::crypto)
# ldconfig does not know the android directory: every binary carries an rpath to it.
list(APPEND CMAKE_BUILD_RPATH ${BORINGSSL_LIB_DIR})
list(APPEND CMAKE_INSTALL_RPATH ${BORINGSSL_LIB_DIR})
