#include "authd/frontend/http_frontend.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <grp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "routes.hpp"

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

// cpp-httplib 0.11 listens with a compiled-in backlog of 5: a burst of logins (16 Dovecot
// helpers at once) would overflow it — TCP clients then wait for a SYN retransmit (1 s) and
// non-blocking UNIX-socket clients get EAGAIN. listen() may be called again on a listening
// socket to change the backlog; the server's socket is found by its bound address.
void raise_backlog(const ListenAddress& address) {
  for (int fd = 3; fd < 4096; ++fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) {
      continue;
    }
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl) != 0) {
      continue;
    }
    bool same = false;
    if (ss.ss_family == AF_UNIX) {
      same = address.unix_socket && address.host == reinterpret_cast<sockaddr_un*>(&ss)->sun_path;
    } else if (!address.unix_socket) {
      const auto port = ss.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port)
                                                : ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
      same = port == address.port;
    }
    if (same) {
      ::listen(fd, 1024);
    }
  }
}

} // namespace

Status HttpFrontend::bind_one(const ListenAddress& address) {
  auto svr = std::make_unique<httplib::Server>();
  const int threads = m_config.http.threads;
  svr->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  svr->set_payload_max_length(m_config.http.max_body_bytes);
  svr->set_read_timeout(10, 0);
  svr->set_write_timeout(10, 0);
  svr->set_keep_alive_timeout(30);
  detail::install_routes(*svr, {m_service, m_metrics, m_config, !address.unix_socket});
  bool bound = false;
  if (address.unix_socket) {
    if (auto ok = prepare_socket_path(address.host); !ok) {
      return ok;
    }
    svr->set_address_family(AF_UNIX);
    bound = svr->bind_to_port(address.host, 80);
    if (bound) {
      if (auto ok = set_socket_access(address.host, m_config.http); !ok) {
        return ok;
      }
      m_socket_paths.push_back(address.host);
    }
  } else {
    svr->set_tcp_nodelay(true); // without it, keep-alive answers wait for Nagle (150 vs 12,000 req/s)
    svr->set_address_family(address.host.find(':') != std::string::npos ? AF_INET6 : AF_INET);
    bound = svr->bind_to_port(address.host, address.port);
  }
  if (!bound) {
    return fail(ErrorKind::invalid_input, "cannot listen on " + (address.unix_socket ? "unix:" + address.host
                                                                                      : address.host + ":" + std::to_string(address.port)) +
                                              ": " + std::strerror(errno));
  }
  raise_backlog(address);
  spdlog::info("listening on {}", address.unix_socket ? "unix:" + address.host : address.host + ":" + std::to_string(address.port));
  m_servers.push_back(std::move(svr));
  return {};
}

Status HttpFrontend::start(const std::vector<std::string>& addresses) {
  for (const std::string& text : addresses) {
    auto address = parse_listen(text);
    if (!address) {
      return tl::unexpected(address.error());
    }
    if (auto ok = bind_one(*address); !ok) {
      return ok;
    }
  }
  for (auto& svr : m_servers) {
    httplib::Server* s = svr.get();
    m_threads.emplace_back([s] { s->listen_after_bind(); });
  }
  return {};
}

void HttpFrontend::stop() {
  for (auto& svr : m_servers) {
    svr->stop();
  }
  for (auto& t : m_threads) {
    if (t.joinable()) {
      t.join();
    }
  }
  m_threads.clear();
  for (const std::string& path : m_socket_paths) {
    ::unlink(path.c_str());
  }
  m_socket_paths.clear();
  m_servers.clear();
}

} // namespace authd::frontend
