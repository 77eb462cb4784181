#include "authd/frontend/dovecot_frontend.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "authd/util/encoding.hpp"
#include "frontend/net/event_server.hpp"
#include "frontend/net/listeners.hpp"
#include "session.hpp"

namespace authd::frontend {

DovecotFrontend::DovecotFrontend(core::AuthService& service, core::Metrics& metrics, const config::Config& config)
    : m_service(service), m_metrics(metrics), m_config(config) {}

DovecotFrontend::~DovecotFrontend() { stop(); }

Status DovecotFrontend::start() {
  auto activated = net::activated_listeners(net::k_dovecot_auth_fd_name);
  if (!activated) {
    return tl::unexpected(activated.error());
  }
  m_listeners = std::make_unique<net::Listeners>();
  if (!activated->empty()) {
    m_listeners->open = std::move(*activated);
    m_listeners->activated = true;
  } else if (!m_config.dovecot_auth.listen.empty()) {
    const auto& d = m_config.dovecot_auth;
    auto bound = net::bind_listeners(
        d.listen, net::socket_access(m_config, d.socket_mode, d.socket_group.empty() ? m_config.http.socket_group : d.socket_group,
                                     "dovecot_auth"));
    if (!bound) {
      return tl::unexpected(bound.error());
    }
    *m_listeners = std::move(*bound);
  }
  if (m_listeners->open.empty()) {
    return {}; // off
  }
  net::ServerLimits limits = net::limits_of(m_config);
  std::array<unsigned char, 16> cookie{};
  randombytes_buf(cookie.data(), cookie.size());
  auto ctx = std::make_shared<dovecot::Context>(m_service, limits.trusted, hex_encode(cookie.data(), cookie.size()));
  m_server = std::make_unique<net::Server>(limits, m_metrics);
  for (const net::OpenListener& l : m_listeners->open) {
    m_server->add_listener(l.fd, l.unix_socket, l.name, dovecot::dovecot_sessions(ctx));
    spdlog::info("dovecot auth protocol on {}", l.name);
  }
  m_server->start();
  return {};
}

void DovecotFrontend::reconfigure(const config::Config& config) {
  if (m_server) {
    m_server->reconfigure(net::limits_of(config));
  }
}

std::size_t DovecotFrontend::listener_count() const { return m_listeners ? m_listeners->open.size() : 0; }

void DovecotFrontend::stop() {
  if (m_server) {
    m_server->stop([this] { m_service.shed_waiting(); });
    m_server.reset();
  }
  m_listeners.reset();
}

} // namespace authd::frontend
