#pragma once
// The HTTP front end: the same API on every listener, TCP or UNIX socket, served by one event
// loop (src/frontend/http/server.hpp) with the routes of routes.cpp.
//   POST /v1/auth                          JSON {"username","password","service"?,"remote_ip"?}
//   GET  /v1/basic, /v1/basic/{service}    HTTP Basic, for Nextcloud user_external and proxies
//   GET  /api/authz/forward-auth, /api/authz/auth-request, /api/verify   (Authelia's paths)
//   GET  /healthz, /readyz, /metrics
// Outcomes: 200 ok · 401 rejected (Basic: with WWW-Authenticate) · 403 not allowed for the
// service · 429 throttled · 503 temporary failure (never 401). Never a redirect.
#include <memory>
#include <string>
#include <vector>

#include "authd/config/config.hpp"
#include "authd/core/auth_service.hpp"
#include "authd/util/result.hpp"

namespace authd::frontend::detail {
class Server;
}

namespace authd::frontend {

struct ListenAddress {
  bool unix_socket = false;
  std::string host; // TCP: address; UNIX: path
  int port = 0;
};
// "127.0.0.1:8425", "[::1]:8425", "unix:/run/authd/authd.sock".
Result<ListenAddress> parse_listen(std::string_view text);

class HttpFrontend {
public:
  HttpFrontend(core::AuthService& service, core::Metrics& metrics, const config::Config& config);
  ~HttpFrontend();
  // Binds every address (errors name the address) and starts serving in background threads.
  Status start(const std::vector<std::string>& addresses);
  // Stops accepting, lets in-flight requests finish ([http] drain_timeout_s at most), joins.
  void stop();

private:
  Result<int> bind_one(const ListenAddress& address);

  core::AuthService& m_service;
  core::Metrics& m_metrics;
  const config::Config& m_config;
  std::unique_ptr<detail::Server> m_server;
  std::vector<std::string> m_socket_paths;
};

} // namespace authd::frontend
