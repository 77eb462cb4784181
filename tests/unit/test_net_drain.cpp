// The event loop's stop (SIGTERM; a restart under socket activation, where the listening socket is
// systemd's and outlives the process): a connection whose client has sent its request is either
// answered or left unaccepted in the listening socket's backlog for the next authd — never closed
// unread. Found by service_lifecycle (1 login in ~1,400 reset or closed unanswered across five
// restarts): an accept completed just before the acceptor closed was dropped.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "frontend/http/http_session.hpp"
#include "frontend/net/event_server.hpp"

namespace {

using namespace authd::frontend;

constexpr std::string_view k_request = "POST /auth HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
constexpr std::string_view k_next = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nnext\n"; // the next authd's answer

int listening_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  ::unlink(path.c_str());
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 128) != 0) {
    return -1;
  }
  return fd;
}

int connect_and_send(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::send(fd, k_request.data(), k_request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(k_request.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// What the client got: the start of the answer, "" for EOF or a reset, "timeout" for nothing.
std::string answer_of(int fd) {
  std::string got;
  char buf[512];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 3000) != 1) {
      return got.empty() ? "timeout" : got;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      return got;
    }
    got.append(buf, static_cast<std::size_t>(n));
  }
}

// The next authd: takes what the stopped one left in the backlog and answers it.
int serve_backlog(int listen_fd) {
  int served = 0;
  for (int c; (c = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0; ++served) {
    (void)::send(c, k_next.data(), k_next.size(), MSG_NOSIGNAL);
    ::shutdown(c, SHUT_WR);
    ::close(c);
  }
  return served;
}

detail::Handler login_handler() {
  return [](detail::Request&) {
    detail::Reply reply;
    reply.work = [] { // a worker's answer, as a login's is
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      detail::Reply done;
      done.response.set_content("ok\n", "text/plain");
      return done;
    };
    return reply;
  };
}

TEST(NetDrain, AStopAnswersOrLeavesInTheBacklogEveryConnectionThatSentItsRequest) {
  const std::string path = ::testing::TempDir() + "authd-drain-" + std::to_string(::getpid()) + ".sock";
  const int listen_fd = listening_socket(path);
  ASSERT_GE(listen_fd, 0) << std::strerror(errno);
  ::fcntl(listen_fd, F_SETFL, ::fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
  authd::core::Metrics metrics;
  net::ServerLimits limits;
  limits.threads = 2;
  limits.drain_timeout_s = 5;
  int answered = 0, left = 0;
  std::vector<std::string> lost;
  for (int round = 0; round < 200 && lost.empty(); ++round) {
    net::Server server(limits, metrics);
    server.add_listener(::dup(listen_fd), true, "unix:" + path, detail::http_sessions(login_handler()));
    server.start();
    std::vector<int> clients;
    for (int i = 0; i < 4; ++i) {
      clients.push_back(connect_and_send(path));
      std::this_thread::sleep_for(std::chrono::microseconds(round % 7 * 40)); // the stop lands anywhere
    }
    server.stop();
    left += serve_backlog(listen_fd);
    for (const int c : clients) {
      ASSERT_GE(c, 0);
      const std::string got = answer_of(c);
      ::close(c);
      if (got.rfind("HTTP/1.1 200", 0) == 0) {
        ++answered;
      } else {
        lost.push_back("round " + std::to_string(round) + ": '" + got.substr(0, 40) + "'");
      }
    }
  }
  ::close(listen_fd);
  ::unlink(path.c_str());
  EXPECT_TRUE(lost.empty()) << lost.size() << " connection(s) closed unanswered, first: " << lost.front();
  EXPECT_GT(answered, 0);
  std::printf("answered or left for the next authd: %d connections (%d of them left in the backlog)\n", answered, left);
}

} // namespace
