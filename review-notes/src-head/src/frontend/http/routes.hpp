#pragma once
// Request handlers shared by every listener.
#include <httplib.h>

#include "authd/config/config.hpp"
#include "authd/core/auth_service.hpp"

namespace authd::frontend::detail {

struct RouteContext {
  core::AuthService& service;
  core::Metrics& metrics;
  const config::Config& config;
  bool tcp; // TCP listener: the bearer token (if configured) is required on POST /v1/auth
};

void install_routes(httplib::Server& server, const RouteContext& ctx);

struct AuthFields {
  std::string user;
  std::string service;
  std::string ip;
  SecretString password;
};
// The body of POST /v1/auth; ErrorKind::invalid_input with the message for a 400.
Result<AuthFields> parse_auth_json(const std::string& body);

// An absolute-form request target (RFC 9112 §3.2.2: "POST http://authd/v1/auth", what a client
// sends through an HTTP proxy socket, e.g. Dovecot 2.4's Lua HTTP client) becomes its path.
void strip_absolute_form(std::string& path);

// Parses "Basic base64(user:password)"; false when missing or malformed (why says which).
bool parse_basic(std::string_view header, std::string& user, SecretString& password, std::string& why);

} // namespace authd::frontend::detail
