#pragma once
// The self-service page ([selfservice] listen, off by default): users sign in with their own
// password and change it, make and revoke app passwords, and see their recent logins. Served on
// its own listener (meant as the upstream of the site's TLS reverse proxy), never beside the
// API, by the same event loop code and the same AuthService (throttle, verify lanes) as logins.
// Off when no address is configured and systemd passed no socket named "selfservice".
#include <memory>
#include <mutex>

#include "authd/config/config.hpp"
#include "authd/core/auth_service.hpp"
#include "authd/util/result.hpp"

namespace authd::frontend::net {
class Server;
struct Listeners;
} // namespace authd::frontend::net
namespace authd::frontend::web {
struct WebContext;
class WebSessions;
} // namespace authd::frontend::web

namespace authd::frontend {

class WebFrontend {
public:
  WebFrontend(core::AuthService& service, store::CredentialStore& store, core::Metrics& metrics, const config::Config& config);
  ~WebFrontend();
  Status start();
  // A SIGHUP reload: the page's settings, limits and trusted proxies for what arrives from now on.
  void reconfigure(const config::Config& config);
  void stop();
  std::size_t listener_count() const; // sockets served (bound or from systemd)

private:
  std::shared_ptr<const web::WebContext> context() const;

  core::AuthService& m_service;
  store::CredentialStore& m_store;
  core::Metrics& m_metrics;
  std::unique_ptr<web::WebSessions> m_sessions;
  mutable std::mutex m_mutex; // m_context
  std::shared_ptr<const web::WebContext> m_context;
  std::unique_ptr<net::Listeners> m_listeners;
  std::unique_ptr<net::Server> m_server;
};

} // namespace authd::frontend
