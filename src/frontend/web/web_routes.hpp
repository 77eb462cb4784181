#pragma once
// The self-service page's requests. Like the API's route(), web_route() runs on the event loop
// and only parses and checks (session, CSRF token, form fields); the sign-in and every
// re-authentication go through AuthService (the throttle, held answers and the verify lanes of
// every login), store work runs on the workers.
#include <memory>

#include "authd/config/config.hpp"
#include "authd/core/auth_service.hpp"
#include "authd/util/net.hpp"
#include "frontend/http/message.hpp"
#include "web_sessions.hpp"

namespace authd::frontend::web {

struct WebContext {
  core::AuthService& service;
  store::CredentialStore& store;
  core::Metrics& metrics;
  WebSessions& sessions;
  std::shared_ptr<const config::Config> config; // the settings of the last (re)load
  std::vector<authd::Cidr> trusted;                   // [http] trusted_proxies, parsed
};

detail::Reply web_route(detail::Request& request, const std::shared_ptr<const WebContext>& ctx);

} // namespace authd::frontend::web
