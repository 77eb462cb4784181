#include "daemon.hpp"

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include "process.hpp"

extern char** environ;

namespace authd::test {

std::string raw_unix_exchange(const std::string& path, const std::string& request) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  std::string answer;
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    if (fd >= 0) {
      ::close(fd);
    }
    return answer;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      continue;
    }
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

int test_port(int offset) { return 20000 + static_cast<int>(::getpid() % 20000) + offset; }

Daemon::Daemon(const std::string& dir, const std::string& config_toml, int port) : m_dir(dir), m_port(port) {
  std::ofstream(dir + "/authd.toml") << config_toml;
  const std::string authd = bin("authd");
  const std::string cfg = dir + "/authd.toml";
  const std::string log = dir + "/authd.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  char* const argv[] = {const_cast<char*>(authd.c_str()), const_cast<char*>("--config"), const_cast<char*>(cfg.c_str()), nullptr};
  if (::posix_spawn(&m_pid, authd.c_str(), &actions, nullptr, argv, environ) != 0) {
    m_pid = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(0, 200000);
  for (int i = 0; i < 100 && running(); ++i) {
    if (auto r = cli.Get("/healthz"); r && r->status == 200) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Daemon::~Daemon() { stop(); }

bool Daemon::running() {
  if (m_pid <= 0) {
    return false;
  }
  int status = 0;
  if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
    m_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    m_pid = -1;
    return false;
  }
  return true;
}

int Daemon::stop() {
  if (m_pid <= 0) {
    return m_exit;
  }
  ::kill(m_pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(m_pid, SIGKILL);
  ::waitpid(m_pid, &status, 0);
  m_pid = -1;
  return 128 + SIGKILL;
}

void Daemon::kill_hard() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGKILL);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_exit = 128 + SIGKILL;
    m_pid = -1;
  }
}

std::string Daemon::log() const {
  std::ifstream in(m_dir + "/authd.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace authd::test
