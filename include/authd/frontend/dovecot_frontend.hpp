#pragma once
// The Dovecot auth-client protocol listener ([dovecot_auth] listen): Postfix (smtpd_sasl_type =
// dovecot), Exim's dovecot authenticator and Radicale (type = dovecot) log in through the same core
// as every other front end, with the client's address (rip=) for the throttle. Off when no
// address is configured and systemd passed no socket named "dovecot-auth".
#include <memory>
#include <mutex>

#include "authd/config/config.hpp"
#include "authd/core/auth_service.hpp"
#include "authd/util/result.hpp"

namespace authd::frontend::net {
class Server;
struct Listeners;
} // namespace authd::frontend::net

namespace authd::frontend {

class DovecotFrontend {
public:
  DovecotFrontend(core::AuthService& service, core::Metrics& metrics, const config::Config& config);
  ~DovecotFrontend();
  Status start();
  void reconfigure(const config::Config& config); // limits and trusted proxies for new connections
  void stop();
  std::size_t listener_count() const; // sockets served (bound or from systemd)

private:
  core::AuthService& m_service;
  core::Metrics& m_metrics;
  config::Config m_config;
  std::unique_ptr<net::Listeners> m_listeners;
  std::unique_ptr<net::Server> m_server;
};

} // namespace authd::frontend
