# Every dependency comes from a Debian 12 package; the mechanism per library is the one that works
# there (shared/docs/ENVIRONMENT.md §3). cpp-httplib only through pkg-config: its .pc carries ABI
# defines without which the class layout differs from the library.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(XCRYPT REQUIRED IMPORTED_TARGET libxcrypt)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
find_package(OpenSSL REQUIRED)
pkg_check_modules(MARIADB REQUIRED IMPORTED_TARGET libmariadb)
if(AUTHD_BUILD_TESTS OR AUTHD_BUILD_BENCH OR AUTHD_FUZZ)
  pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib) # HTTP clients (tests, bench)
endif()
# The server side: Boost.Asio (epoll event loop) + Boost.Beast (HTTP/1.1 parser), header-only.
find_package(Boost 1.74 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(tl-expected CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)
find_package(nlohmann_json 3.2 CONFIG REQUIRED)
if(AUTHD_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
  include(GoogleTest)
endif()
# Unicode NFC for user names (libunistring: no pkg-config file in Debian 12; header + library).
find_path(UNISTRING_INCLUDE_DIR uninorm.h REQUIRED)
find_library(UNISTRING_LIBRARY unistring REQUIRED)
add_library(Unistring::Unistring UNKNOWN IMPORTED)
set_target_properties(Unistring::Unistring PROPERTIES IMPORTED_LOCATION "${UNISTRING_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${UNISTRING_INCLUDE_DIR}")
# systemd socket activation and readiness/reload notification (sd_listen_fds_with_names, sd_notify).
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
