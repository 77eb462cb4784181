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
#include <mutex>
#include <string>
#include <vector>

#include "authd/config/config.hpp"
#include "authd/core/auth_service.hpp"
#include "authd/util/net.hpp"
#include "authd/util/result.hpp"

namespace authd::frontend::net {
class Server;
struct Listeners;
} // namespace authd::frontend::net
namespace authd::frontend::detail {
struct RouteContext;
}

namespace authd::frontend {

class HttpFrontend {
public:
  HttpFrontend(core::AuthService& service, core::Metrics& metrics, const config::Config& config);
  ~HttpFrontend();
  // Serves the sockets systemd passed (LISTEN_FDS), or else binds every address (errors name
  // the address; a UNIX socket another live instance holds is refused), in background threads.
  Status start(const std::vector<std::string>& addresses);
  // A SIGHUP reload: timeouts, limits, trusted proxies, realm and bearer token for what arrives
  // from now on (listeners and the worker count stay).
  void reconfigure(const config::Config& config);
  // The listeners came from systemd (LISTEN_FDS), not from [http] listen.
  bool socket_activated() const;
  // Stops accepting, lets in-flight requests finish ([http] drain_timeout_s at most), joins.
  void stop();
  std::size_t listener_count() const; // sockets served (bound or from systemd)

private:
  std::shared_ptr<const detail::RouteContext> context(std::size_t index) const;

  core::AuthService& m_service;
  core::Metrics& m_metrics;
  std::shared_ptr<const config::Config> m_config;
  std::unique_ptr<net::Listeners> m_listeners;
  std::unique_ptr<net::Server> m_server;
  mutable std::mutex m_mutex; // m_contexts, m_config
  std::vector<std::shared_ptr<const detail::RouteContext>> m_contexts;
};

} // namespace authd::frontend
