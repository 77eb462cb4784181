#include "authd/frontend/http_frontend.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <grp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "routes.hpp"
#include "server.hpp"

namespace authd::frontend {

Result<ListenAddress> parse_listen(std::string_view text) {
  ListenAddress a;
  if (text.starts_with("unix:")) {
    a.unix_socket = true;
    a.host = std::string(text.substr(5));
    if (a.host.empty() || a.host.front() != '/') {
      return fail(ErrorKind::invalid_input, "listen '" + std::string(text) + "': unix: needs an absolute path");
    }
    return a;
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return fail(ErrorKind::invalid_input, "listen '" + std::string(text) + "': need HOST:PORT, [V6]:PORT or unix:/path");
  }
  std::string_view host = text.substr(0, colon);
  if (host.starts_with('[') && host.ends_with(']')) {
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view port = text.substr(colon + 1);
  const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (host.empty() || ec != std::errc() || p != port.data() + port.size() || a.port < 1 || a.port > 65535) {
    return fail(ErrorKind::invalid_input, "listen '" + std::string(text) + "': bad host or port");
  }
  a.host = std::string(host);
  return a;
}

HttpFrontend::HttpFrontend(core::AuthService& service, core::Metrics& metrics, const config::Config& config)
    : m_service(service), m_metrics(metrics), m_config(config) {}

HttpFrontend::~HttpFrontend() { stop(); }

namespace {

Status prepare_socket_path(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return fail(ErrorKind::invalid_input, path + " exists and is not a socket");
    }
    ::unlink(path.c_str()); // stale socket of an earlier run
  }
  return {};
}

Status set_socket_access(const std::string& path, const config::HttpConfig& http) {
  unsigned long mode = 0;
  const auto [p, ec] = std::from_chars(http.socket_mode.data(), http.socket_mode.data() + http.socket_mode.size(), mode, 8);
  if (ec != std::errc() || mode > 0777) {
    return fail(ErrorKind::invalid_input, "http.socket_mode must be octal, e.g. \"0660\"");
  }
  if (!http.socket_group.empty()) {
    const group* g = ::getgrnam(http.socket_group.c_str());
    if (g == nullptr || ::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
      return fail(ErrorKind::invalid_input, "cannot give " + path + " to group " + http.socket_group);
    }
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    return fail(ErrorKind::internal, "cannot chmod " + path);
  }
  return {};
}

std::string describe(const ListenAddress& a) {
  return a.unix_socket ? "unix:" + a.host : (a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host) + ":" +
                                               std::to_string(a.port);
}

// A bound, listening socket (backlog 1024: a burst of Dovecot helpers must not overflow it).
Result<int> listen_socket(const ListenAddress& a) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (a.unix_socket) {
    auto* un = reinterpret_cast<sockaddr_un*>(&ss);
    if (a.host.size() >= sizeof un->sun_path) {
      return fail(ErrorKind::invalid_input, "socket path too long: " + a.host);
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, a.host.c_str(), a.host.size() + 1);
    len = sizeof(sockaddr_un);
  } else if (auto* v4 = reinterpret_cast<sockaddr_in*>(&ss); ::inet_pton(AF_INET, a.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(a.port));
    len = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss); ::inet_pton(AF_INET6, a.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(a.port));
    len = sizeof(sockaddr_in6);
  } else {
    return fail(ErrorKind::invalid_input, "cannot listen on " + describe(a) + ": not a numeric address");
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd >= 0 && ss.ss_family != AF_UNIX) {
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6) {
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
  }
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 1024) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) {
      ::close(fd);
    }
    return fail(ErrorKind::invalid_input, "cannot listen on " + describe(a) + ": " + why);
  }
  return fd;
}

} // namespace

Result<int> HttpFrontend::bind_one(const ListenAddress& address) {
  if (address.unix_socket) {
    if (auto ok = prepare_socket_path(address.host); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  auto fd = listen_socket(address);
  if (!fd) {
    return fd;
  }
  if (address.unix_socket) {
    m_socket_paths.push_back(address.host);
    if (auto ok = set_socket_access(address.host, m_config.http); !ok) {
      ::close(*fd);
      return tl::unexpected(ok.error());
    }
  }
  spdlog::info("listening on {}", describe(address));
  return fd;
}

Status HttpFrontend::start(const std::vector<std::string>& addresses) {
  const config::HttpConfig& h = m_config.http;
  detail::ServerLimits limits{h.threads, h.max_connections, h.max_connections_per_peer, h.keepalive_timeout_s,
                              h.header_timeout_s, h.body_timeout_s, h.drain_timeout_s, h.max_header_bytes, 64,
                              h.max_body_bytes, {}};
  for (const std::string& text : h.trusted_proxies) {
    if (auto net = parse_cidr(text)) { // validated when the config was loaded
      limits.trusted.push_back(*net);
    }
  }
  const std::vector<Cidr> trusted = limits.trusted; // parsed once: the server's per-peer cap and the routes
  m_server = std::make_unique<detail::Server>(std::move(limits), m_metrics);
  for (const std::string& text : addresses) {
    auto address = parse_listen(text);
    if (!address) {
      return tl::unexpected(address.error());
    }
    auto fd = bind_one(*address);
    if (!fd) {
      return tl::unexpected(fd.error());
    }
    auto ctx = detail::make_context(m_service, m_metrics, m_config, !address->unix_socket, trusted);
    m_server->add_listener(*fd, address->unix_socket, describe(*address),
                           [ctx](detail::Request& req) { return detail::route(req, ctx); });
  }
  m_server->start();
  return {};
}

void HttpFrontend::stop() {
  if (m_server) {
    m_server->stop();
    m_server.reset();
  }
  for (const std::string& path : m_socket_paths) {
    ::unlink(path.c_str());
  }
  m_socket_paths.clear();
}

} // namespace authd::frontend
