#pragma once
// Starts a real authd as a child process for end-to-end tests and stops it with SIGTERM.
#include <string>
#include <vector>

#include <sys/types.h>

namespace authd::test {

class Daemon {
public:
  // Writes `config_toml` to DIR/authd.toml and starts BUILD/bin/authd --config it; waits until
  // GET /healthz answers on `port` (127.0.0.1). Output goes to DIR/authd.log.
  Daemon(const std::string& dir, const std::string& config_toml, int port);
  ~Daemon();
  bool running();
  // SIGTERM and wait; returns the exit code (128+signal when killed).
  int stop();
  std::string log() const;
  // SIGKILL, no cleanup: a crash.
  void kill_hard();
  int port() const { return m_port; }
  pid_t pid() const { return m_pid; }

private:
  std::string m_dir;
  int m_port;
  pid_t m_pid = -1;
  int m_exit = -1;
};

// Sends `request` as is over the UNIX socket at `path` and returns everything read until the
// peer closes (or 10 s pass): for requests no HTTP client library would write.
std::string raw_unix_exchange(const std::string& path, const std::string& request);

// A free-ish loopback port for this test process.
int test_port(int offset);

} // namespace authd::test
