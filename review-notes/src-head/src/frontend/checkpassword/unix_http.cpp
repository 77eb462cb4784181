#include "unix_http.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "authd/util/secret.hpp"

namespace authd::checkpassword {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

Status wait_for(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) {
      return {};
    }
    if (n == 0) {
      return fail(ErrorKind::temporary, "authd did not answer in time");
    }
    if (errno != EINTR) {
      return fail(ErrorKind::temporary, std::string("poll: ") + std::strerror(errno));
    }
  }
}

Status write_all(int fd, const std::string& data, Clock::time_point deadline) {
  std::size_t done = 0;
  while (done < data.size()) {
    if (auto ok = wait_for(fd, POLLOUT, deadline); !ok) {
      return ok;
    }
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      return fail(ErrorKind::temporary, std::string("send: ") + std::strerror(errno));
    }
    done += n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  return {};
}

Result<std::string> read_all(int fd, Clock::time_point deadline) {
  std::string out;
  char buf[4096];
  for (;;) {
    if (auto ok = wait_for(fd, POLLIN, deadline); !ok) {
      return tl::unexpected(ok.error());
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) {
      return out;
    }
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      return fail(ErrorKind::temporary, std::string("recv: ") + std::strerror(errno));
    }
    out.append(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    if (out.size() > 65536) {
      return fail(ErrorKind::temporary, "reply too large");
    }
  }
}

} // namespace

Result<HttpReply> post_json(const std::string& socket_path, const std::string& path, const std::string& body,
                            int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path) {
    return fail(ErrorKind::invalid_input, "socket path too long");
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  Fd sock{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (sock.fd < 0) {
    return fail(ErrorKind::temporary, std::string("socket: ") + std::strerror(errno));
  }
  // EAGAIN: authd's accept backlog is full (a burst of logins); retry until the deadline.
  while (::connect(sock.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINPROGRESS) {
      break;
    }
    if ((errno != EAGAIN && errno != EINTR) || remaining_ms(deadline) == 0) {
      return fail(ErrorKind::temporary, "cannot connect to " + socket_path + ": " + std::strerror(errno));
    }
    ::usleep(2000);
  }
  std::string request = "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  auto sent = write_all(sock.fd, request, deadline);
  wipe(request.data(), request.size());
  if (!sent) {
    return tl::unexpected(sent.error());
  }
  auto raw = read_all(sock.fd, deadline);
  if (!raw) {
    return tl::unexpected(raw.error());
  }
  HttpReply reply;
  if (raw->size() < 12 || !raw->starts_with("HTTP/1.")) {
    return fail(ErrorKind::temporary, "authd answered something that is not HTTP");
  }
  reply.status = std::atoi(raw->c_str() + 9);
  const std::size_t header_end = raw->find("\r\n\r\n");
  if (header_end != std::string::npos) {
    reply.body = raw->substr(header_end + 4);
  }
  return reply;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

std::string json_field(const std::string& body, std::string_view key) {
  std::string needle(1, '"'); // built piecewise: GCC 12 -O2 warns falsely (-Wrestrict) on literal + string
  needle.append(key).append("\":");
  std::size_t p = body.find(needle);
  if (p == std::string::npos) {
    return "";
  }
  p += needle.size();
  if (p < body.size() && body[p] == '"') {
    std::string out;
    for (++p; p < body.size() && body[p] != '"'; ++p) {
      if (body[p] == '\\' && p + 1 < body.size()) {
        ++p; // authd escapes only quotes, backslashes and control characters in these fields
      }
      out.push_back(body[p]);
    }
    return out;
  }
  const std::size_t end = body.find_first_of(",}", p);
  return body.substr(p, end - p);
}

} // namespace authd::checkpassword
