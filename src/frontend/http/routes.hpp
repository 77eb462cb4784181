#pragma once
// Request handlers shared by every listener. route() runs on the event loop and only parses:
// anything that touches the store or the verify pool comes back as Reply::work for a worker.
#include <memory>

#include "authd/config/config.hpp"
#include "authd/core/auth_service.hpp"
#include "authd/util/net.hpp"
#include "message.hpp"

namespace authd::frontend::detail {

struct RouteContext {
  core::AuthService& service;
  core::Metrics& metrics;
  std::shared_ptr<const config::Config> config; // the settings of the last (re)load
  bool tcp; // TCP listener: the bearer token (if configured) is required
  std::vector<Cidr> trusted = {}; // [http] trusted_proxies, parsed
};
std::shared_ptr<const RouteContext> make_context(core::AuthService& service, core::Metrics& metrics,
                                                 std::shared_ptr<const config::Config> config, bool tcp,
                                                 std::vector<Cidr> trusted);

Reply route(Request& request, const std::shared_ptr<const RouteContext>& ctx);

// The client's address as far as it can be believed (X-Forwarded-For only from trusted peers);
// "" when unknown.
std::string client_address(const Request& request, bool tcp, const std::vector<Cidr>& trusted);

struct AuthFields {
  std::string user;
  std::string service;
  std::string ip;
  SecretString password;
};
// The body of POST /v1/auth; ErrorKind::invalid_input with the message for a 400.
Result<AuthFields> parse_auth_json(const std::string& body);

// Parses "Basic base64(user:password)"; false when missing or malformed (why says which).
bool parse_basic(std::string_view header, std::string& user, SecretString& password, std::string& why);

} // namespace authd::frontend::detail
