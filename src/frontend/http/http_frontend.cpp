#include "authd/frontend/http_frontend.hpp"

#include <spdlog/spdlog.h>

#include "frontend/net/event_server.hpp"
#include "frontend/net/listeners.hpp"
#include "http_session.hpp"
#include "routes.hpp"

namespace authd::frontend {

HttpFrontend::HttpFrontend(core::AuthService& service, core::Metrics& metrics, const config::Config& config)
    : m_service(service), m_metrics(metrics), m_config(std::make_shared<const config::Config>(config)) {}

HttpFrontend::~HttpFrontend() { stop(); }

Status HttpFrontend::start(const std::vector<std::string>& addresses) {
  auto activated = net::activated_listeners("http");
  if (!activated) {
    return tl::unexpected(activated.error());
  }
  m_listeners = std::make_unique<net::Listeners>();
  if (!activated->empty()) {
    m_listeners->open = std::move(*activated);
    m_listeners->activated = true;
    spdlog::info("socket activation: {} listener(s) from systemd; [http] listen is not used", m_listeners->open.size());
  } else {
    auto bound = net::bind_listeners(addresses, net::socket_access(*m_config, m_config->http.socket_mode, m_config->http.socket_group, "http"));
    if (!bound) {
      return tl::unexpected(bound.error());
    }
    *m_listeners = std::move(*bound);
  }
  net::ServerLimits limits = net::limits_of(*m_config);
  m_server = std::make_unique<net::Server>(limits, m_metrics);
  for (const net::OpenListener& l : m_listeners->open) {
    const std::size_t index = m_contexts.size();
    m_contexts.push_back(detail::make_context(m_service, m_metrics, m_config, !l.unix_socket, limits.trusted));
    m_server->add_listener(l.fd, l.unix_socket, l.name, detail::http_sessions([this, index](detail::Request& req) {
                             return detail::route(req, context(index));
                           }));
    spdlog::info("listening on {}", l.name);
  }
  m_server->start();
  return {};
}

std::shared_ptr<const detail::RouteContext> HttpFrontend::context(std::size_t index) const {
  std::lock_guard lock(m_mutex);
  return m_contexts[index];
}

void HttpFrontend::reconfigure(const config::Config& config) {
  auto shared = std::make_shared<const config::Config>(config);
  net::ServerLimits limits = net::limits_of(config);
  {
    std::lock_guard lock(m_mutex);
    for (auto& ctx : m_contexts) {
      ctx = detail::make_context(m_service, m_metrics, shared, ctx->tcp, limits.trusted);
    }
    m_config = shared;
  }
  if (m_server) {
    m_server->reconfigure(std::move(limits));
  }
}

bool HttpFrontend::socket_activated() const { return m_listeners && m_listeners->activated; }

std::size_t HttpFrontend::listener_count() const { return m_listeners ? m_listeners->open.size() : 0; }

void HttpFrontend::stop() {
  if (m_server) {
    m_server->stop([this] { m_service.shed_waiting(); });
    m_server.reset();
  }
  m_listeners.reset(); // unlinks the sockets this process bound, and only those
}

} // namespace authd::frontend
