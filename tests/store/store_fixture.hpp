#pragma once
// Fresh stores for the parameterised store suite: memory, SQLite, MariaDB over TCP and socket.
// MariaDB comes from scripts/mariadb-test.sh (started by the ctest fixture; MDB_DIR/MDB_PORT).
#include <atomic>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "authd/store/credential_store.hpp"
#include "support/process.hpp"

namespace authd::test {

inline std::string mdb_dir() {
  const char* d = std::getenv("MDB_DIR");
  return d != nullptr ? d : "/tmp/authd-test-mariadb";
}
inline std::string mdb_port() {
  const char* p = std::getenv("MDB_PORT");
  return p != nullptr ? p : "23306";
}
inline ProcessResult mariadb_script(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {std::string(AUTHD_SOURCE_DIR) + "/scripts/mariadb-test.sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, "", {"MDB_DIR=" + mdb_dir(), "MDB_PORT=" + mdb_port()}, 120);
}

inline std::string unique_name(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + std::to_string(::getpid()) + "_" + std::to_string(n++);
}

// A new empty MariaDB database; returns its URL (TCP or socket form).
inline std::string fresh_mariadb_url(bool socket) {
  const std::string db = unique_name("authd_t");
  mariadb_script({"sql", "CREATE DATABASE " + db + " CHARACTER SET utf8mb4"});
  return socket ? "mariadb://authd:authdpw@localhost/" + db + "?socket=" + mdb_dir() + "/mysqld.sock"
                : "mariadb://authd:authdpw@127.0.0.1:" + mdb_port() + "/" + db;
}

inline std::string fresh_sqlite_url() {
  const std::string path = (std::getenv("TMPDIR") != nullptr ? std::string(std::getenv("TMPDIR")) : "/tmp") + "/" +
                           unique_name("authd_t") + ".db";
  ::unlink(path.c_str());
  return "sqlite://" + path;
}

} // namespace authd::test
