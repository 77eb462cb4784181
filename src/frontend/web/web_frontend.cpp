#include "authd/frontend/web_frontend.hpp"

#include <spdlog/spdlog.h>

#include "frontend/http/http_session.hpp"
#include "frontend/net/event_server.hpp"
#include "frontend/net/listeners.hpp"
#include "web_routes.hpp"

namespace authd::frontend {
namespace {

// A page's form carries three passwords of up to 1024 bytes, percent-encoded.
constexpr std::size_t k_min_body_bytes = 16384;

net::ServerLimits web_limits(const config::Config& config) {
  net::ServerLimits limits = net::limits_of(config);
  limits.max_body_bytes = std::max(limits.max_body_bytes, k_min_body_bytes);
  return limits;
}

web::SessionLimits session_limits(const config::SelfServiceConfig& c) {
  return {std::chrono::seconds(c.session_idle_s), std::chrono::seconds(c.session_max_s),
          static_cast<std::size_t>(c.max_sessions), 8};
}

} // namespace

WebFrontend::WebFrontend(core::AuthService& service, store::CredentialStore& store, core::Metrics& metrics,
                         const config::Config& config)
    : m_service(service), m_store(store), m_metrics(metrics),
      m_sessions(std::make_unique<web::WebSessions>(session_limits(config.selfservice))) {
  m_context = std::make_shared<const web::WebContext>(web::WebContext{service, store, metrics, *m_sessions,
                                                                      std::make_shared<const config::Config>(config),
                                                                      net::limits_of(config).trusted});
}

WebFrontend::~WebFrontend() { stop(); }

Status WebFrontend::start() {
  auto activated = net::activated_listeners(net::k_selfservice_fd_name);
  if (!activated) {
    return tl::unexpected(activated.error());
  }
  const config::Config& config = *context()->config;
  m_listeners = std::make_unique<net::Listeners>();
  if (!activated->empty()) {
    m_listeners->open = std::move(*activated);
    m_listeners->activated = true;
  } else if (!config.selfservice.listen.empty()) {
    auto bound = net::bind_listeners(config.selfservice.listen,
                                     net::socket_access(config, config.http.socket_mode, config.http.socket_group, "selfservice"));
    if (!bound) {
      return tl::unexpected(bound.error());
    }
    *m_listeners = std::move(*bound);
  }
  if (m_listeners->open.empty()) {
    return {}; // off
  }
  m_server = std::make_unique<net::Server>(web_limits(config), m_metrics);
  for (const net::OpenListener& l : m_listeners->open) {
    m_server->add_listener(l.fd, l.unix_socket, l.name,
                           detail::http_sessions([this](detail::Request& req) { return web::web_route(req, context()); }));
    spdlog::info("self-service page on {}", l.name);
  }
  m_server->start();
  return {};
}

std::shared_ptr<const web::WebContext> WebFrontend::context() const {
  std::lock_guard lock(m_mutex);
  return m_context;
}

void WebFrontend::reconfigure(const config::Config& config) {
  m_sessions->configure(session_limits(config.selfservice));
  {
    std::lock_guard lock(m_mutex);
    m_context = std::make_shared<const web::WebContext>(web::WebContext{m_service, m_store, m_metrics, *m_sessions,
                                                                        std::make_shared<const config::Config>(config),
                                                                        net::limits_of(config).trusted});
  }
  if (m_server) {
    m_server->reconfigure(web_limits(config));
  }
}

std::size_t WebFrontend::listener_count() const { return m_listeners ? m_listeners->open.size() : 0; }

void WebFrontend::stop() {
  if (m_server) {
    m_server->stop([this] { m_service.shed_waiting(); });
    m_server.reset();
  }
  m_listeners.reset();
}

} // namespace authd::frontend
