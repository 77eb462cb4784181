#include "routes.hpp"

#include <nlohmann/json.hpp>

#include "authd/util/encoding.hpp"
#include "authd/util/net.hpp"

namespace authd::frontend::detail {
namespace {

using nlohmann::json;

// Request bytes that carried a secret are wiped once parsed (httplib owns them; not const-born).
void wipe_string(const std::string& s) { wipe(const_cast<char*>(s.data()), s.size()); }

void count(const RouteContext& ctx, const char* endpoint, int status) {
  ctx.metrics.add("authd_http_requests_total", {{"endpoint", endpoint}, {"status", std::to_string(status)}});
}

// The client's address. On TCP: the peer, or — when the peer is a trusted proxy — the first
// untrusted X-Forwarded-For entry from the right (X-Real-IP when there is no X-Forwarded-For).
// The UNIX socket is trusted; without a forwarded address its clients have none ("").
std::string client_ip(const httplib::Request& req, const RouteContext& ctx) {
  std::optional<IpAddress> peer;
  if (ctx.tcp) {
    peer = parse_ip(req.remote_addr);
    if (!peer) {
      return req.remote_addr;
    }
  }
  const std::string forwarded = req.get_header_value("X-Forwarded-For");
  if (forwarded.empty() && (!peer || contains_any(ctx.trusted, *peer))) {
    if (const auto real = parse_ip(req.get_header_value("X-Real-IP"))) {
      return to_string(*real);
    }
  }
  return forwarded_client(peer, forwarded, ctx.trusted);
}

void set_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void retry_after(httplib::Response& res, std::chrono::milliseconds wait) {
  const long long secs = (wait.count() + 999) / 1000;
  res.set_header("Retry-After", std::to_string(secs < 1 ? 1 : secs));
}

int status_of(core::AuthStatus s) {
  switch (s) {
  case core::AuthStatus::ok: return 200;
  case core::AuthStatus::rejected: return 401;
  case core::AuthStatus::forbidden: return 403;
  case core::AuthStatus::throttled: return 429;
  case core::AuthStatus::tempfail: return 503;
  }
  return 503;
}

// A bearer token is configured and the request carries it.
bool bearer_presented(const httplib::Request& req, const RouteContext& ctx) {
  const std::string& token = ctx.config.http.bearer_token;
  const std::string header = req.get_header_value("Authorization");
  return !token.empty() && header.size() > 7 && ascii_lower(std::string_view(header).substr(0, 7)) == "bearer " &&
         constant_time_equal(std::string_view(header).substr(7), token);
}

// What POST /v1/auth needs: the socket, no token configured, or the token.
bool bearer_ok(const httplib::Request& req, const RouteContext& ctx) {
  return !ctx.tcp || ctx.config.http.bearer_token.empty() || bearer_presented(req, ctx);
}

// JSON remote_ip is believed from a trusted peer (the socket, a trusted proxy) or a request that
// carries the bearer token; otherwise the address comes from the connection.
bool may_forward(const httplib::Request& req, const RouteContext& ctx) {
  if (!ctx.tcp || bearer_presented(req, ctx)) {
    return true;
  }
  const auto peer = parse_ip(req.remote_addr);
  return peer && contains_any(ctx.trusted, *peer);
}

// Reads one optional string field; false when present but not a string.
bool string_field(const json& body, const char* name, std::string& out) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    return true;
  }
  if (!it->is_string()) {
    return false;
  }
  out = it->get<std::string>();
  return true;
}

// "password" (a JSON string, so UTF-8) or "password_base64" (any bytes: authd-checkpassword sends
// this, so latin-1 passwords of old databases arrive intact). The JSON copy is wiped.
bool take_password(json& body, SecretString& password) {
  if (!body.is_object()) {
    return false;
  }
  for (const char* key : {"password", "password_base64"}) {
    if (!body.contains(key) || !body[key].is_string()) {
      continue;
    }
    auto& text = body[key].get_ref<std::string&>();
    bool ok = true;
    if (std::string_view(key) == "password") {
      password.assign(text);
    } else if (auto raw = base64_decode(text); raw || text.empty()) {
      password.assign(raw ? std::string_view(reinterpret_cast<const char*>(raw->data()), raw->size()) : "");
      if (raw) {
        wipe(raw->data(), raw->size());
      }
    } else {
      ok = false;
    }
    wipe(text.data(), text.size());
    return ok;
  }
  return false;
}

void add_account_fields(json& out, const core::AuthResult& r) {
  if (r.account && r.account->home) {
    out["home"] = *r.account->home;
  }
  if (r.account && r.account->uid) {
    out["uid"] = *r.account->uid;
  }
  if (r.account && r.account->gid) {
    out["gid"] = *r.account->gid;
  }
}

// POST /v1/lookup {"username","service"?}: does the account exist and may it use the service?
// For Dovecot's userdb/passdb lookups (authd-checkpassword, the 2.4 Lua script). It reveals whether
// an account exists: open on the UNIX socket, on TCP only with the configured bearer token.
void post_lookup(const httplib::Request& req, httplib::Response& res, const RouteContext& ctx) {
  if (ctx.tcp && !bearer_presented(req, ctx)) {
    set_json(res, 403, {{"ok", false}, {"error", "lookup over TCP needs the bearer token (use the UNIX socket)"}});
    return count(ctx, "lookup", 403);
  }
  json body = json::parse(req.body, nullptr, false);
  std::string user, service;
  if (!body.is_object() || !string_field(body, "username", user) || !string_field(body, "service", service) ||
      user.empty() || (!service.empty() && !store::check_service(service))) {
    set_json(res, 400, {{"ok", false}, {"error", "need a string field username (and a valid service)"}});
    return count(ctx, "lookup", 400);
  }
  const auto r = ctx.service.lookup(user, service);
  const int status = r.status == core::AuthStatus::rejected ? 404 : status_of(r.status);
  json out = {{"ok", r.status == core::AuthStatus::ok}};
  if (r.status == core::AuthStatus::ok) {
    out["user"] = r.user;
    add_account_fields(out, r);
  }
  set_json(res, status, out);
  count(ctx, "lookup", status);
}

void post_auth(const httplib::Request& req, httplib::Response& res, const RouteContext& ctx) {
  if (!bearer_ok(req, ctx)) {
    set_json(res, 401, {{"ok", false}, {"error", "bearer token required"}});
    return count(ctx, "auth", 401);
  }
  auto fields = parse_auth_json(req.body);
  wipe_string(req.body);
  if (!fields) {
    set_json(res, 400, {{"ok", false}, {"error", fields.error().message}});
    return count(ctx, "auth", 400);
  }
  const std::string& user = fields->user;
  const std::string& service = fields->service;
  const std::string& ip = fields->ip;
  const SecretString& password = fields->password;
  const auto forwarded_ip = may_forward(req, ctx) ? parse_ip(ip) : std::nullopt;
  const auto r = ctx.service.authenticate({user, password, service, forwarded_ip ? to_string(*forwarded_ip) : client_ip(req, ctx)});
  const int status = status_of(r.status);
  json out = {{"ok", r.status == core::AuthStatus::ok}};
  if (r.status == core::AuthStatus::ok) {
    out["user"] = r.user;
    out["upgraded"] = r.upgraded;
    add_account_fields(out, r);
  } else if (r.status != core::AuthStatus::rejected) {
    out["error"] = core::to_string(r.status);
  }
  if (r.status == core::AuthStatus::throttled || r.status == core::AuthStatus::tempfail) {
    retry_after(res, r.retry_after);
  }
  set_json(res, status, out);
  count(ctx, "auth", status);
}

void basic(const httplib::Request& req, httplib::Response& res, const RouteContext& ctx, std::string service) {
  const auto challenge = [&](const char* why) {
    res.status = 401;
    res.set_header("WWW-Authenticate", "Basic realm=\"" + ctx.config.http.realm + "\", charset=\"UTF-8\"");
    res.set_content(why, "text/plain");
    count(ctx, "basic", 401);
  };
  if (service.empty() && req.has_param("service")) {
    service = req.get_param_value("service");
  }
  if (!service.empty() && !store::check_service(service)) {
    res.status = 400;
    res.set_content("invalid service name\n", "text/plain");
    return count(ctx, "basic", 400);
  }
  const char* header_name = req.has_header("Authorization") ? "Authorization" : "Proxy-Authorization";
  std::string user, why;
  SecretString password;
  const std::string& header = req.get_header_value(header_name);
  const bool parsed = parse_basic(header, user, password, why);
  wipe_string(header);
  if (!parsed) {
    return challenge(why.c_str());
  }
  const auto r = ctx.service.authenticate({user, password, service.empty() ? "http" : service, client_ip(req, ctx)});
  const int status = status_of(r.status);
  if (status == 401) {
    return challenge("authentication failed\n");
  }
  res.status = status;
  if (status == 200) {
    res.set_header("Remote-User", r.user);
    res.set_header("X-Remote-User", r.user);
  } else {
    if (status == 429 || status == 503) {
      retry_after(res, r.retry_after);
    }
    res.set_content(status == 403 ? "not allowed for this service\n" : std::string(core::to_string(r.status)) + "\n",
                    "text/plain");
  }
  count(ctx, "basic", status);
}

} // namespace

Result<AuthFields> parse_auth_json(const std::string& text) {
  json body = json::parse(text, nullptr, false);
  AuthFields f;
  const bool has_password = take_password(body, f.password);
  const bool fields = body.is_object() && body.contains("username") && body["username"].is_string() && has_password &&
                      string_field(body, "username", f.user) && string_field(body, "service", f.service) &&
                      string_field(body, "remote_ip", f.ip);
  if (!fields || f.user.empty()) {
    return fail(ErrorKind::invalid_input, body.is_discarded() ? "invalid JSON (or not UTF-8)"
                                                              : "need string fields username and password (or password_base64)");
  }
  if (!f.service.empty() && !store::check_service(f.service)) {
    return fail(ErrorKind::invalid_input, "invalid service name");
  }
  if (!scheme::check_password(f.password)) {
    return fail(ErrorKind::invalid_input, "password too long or contains NUL");
  }
  return f;
}

void strip_absolute_form(std::string& path) {
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (path.size() > scheme.size() && ascii_lower(path.substr(0, scheme.size())) == scheme) {
      const std::size_t slash = path.find('/', scheme.size());
      path.erase(0, slash == std::string::npos ? path.size() : slash);
      if (path.empty()) {
        path = "/";
      }
      return;
    }
  }
}

bool parse_basic(std::string_view header, std::string& user, SecretString& password, std::string& why) {
  if (header.empty()) {
    why = "authentication required\n";
    return false;
  }
  if (header.size() < 6 || !(header.substr(0, 6) == "Basic " || header.substr(0, 6) == "basic ")) {
    why = "only Basic authentication is supported\n";
    return false;
  }
  std::string_view b64 = header.substr(6);
  b64.remove_prefix(std::min(b64.find_first_not_of(' '), b64.size()));
  auto raw = base64_decode(b64);
  if (!raw) {
    why = "malformed Basic credentials (not base64)\n";
    return false;
  }
  const std::string_view text(reinterpret_cast<const char*>(raw->data()), raw->size());
  const std::size_t colon = text.find(':'); // RFC 7617: split at the first colon
  if (colon == std::string_view::npos || colon == 0) {
    wipe(raw->data(), raw->size());
    why = "malformed Basic credentials (need user:password)\n";
    return false;
  }
  user.assign(text.substr(0, colon));
  password.assign(text.substr(colon + 1));
  wipe(raw->data(), raw->size());
  if (!scheme::check_password(password)) {
    why = "password too long or contains NUL\n";
    return false;
  }
  return true;
}

void install_routes(httplib::Server& svr, const RouteContext& ctx_in) {
  const auto ctx = std::make_shared<RouteContext>(ctx_in);
  for (const std::string& text : ctx->config.http.trusted_proxies) {
    if (auto net = parse_cidr(text)) { // validated when the config was loaded
      ctx->trusted.push_back(*net);
    }
  }
  // Before any route matches: httplib owns the request and hands it on as const.
  svr.set_pre_routing_handler([](const httplib::Request& q, httplib::Response&) {
    strip_absolute_form(const_cast<std::string&>(q.path));
    return httplib::Server::HandlerResponse::Unhandled;
  });
  svr.Post("/v1/auth", [ctx](const httplib::Request& q, httplib::Response& r) { post_auth(q, r, *ctx); });
  svr.Post("/v1/lookup", [ctx](const httplib::Request& q, httplib::Response& r) { post_lookup(q, r, *ctx); });
  svr.Get("/v1/basic", [ctx](const httplib::Request& q, httplib::Response& r) { basic(q, r, *ctx, ""); });
  svr.Get(R"(/v1/basic/([^/]+))", [ctx](const httplib::Request& q, httplib::Response& r) {
    basic(q, r, *ctx, q.matches[1].str());
  });
  for (const char* path : {"/api/authz/forward-auth", "/api/authz/auth-request", "/api/verify"}) {
    svr.Get(path, [ctx](const httplib::Request& q, httplib::Response& r) { basic(q, r, *ctx, ""); });
  }
  svr.Get("/healthz", [ctx](const httplib::Request&, httplib::Response& r) { r.set_content("ok\n", "text/plain"); });
  svr.Get("/readyz", [ctx](const httplib::Request&, httplib::Response& r) {
    const bool up = ctx->service.ready();
    r.status = up ? 200 : 503;
    r.set_content(up ? "ready\n" : "store unavailable\n", "text/plain");
  });
  svr.Get("/metrics", [ctx](const httplib::Request&, httplib::Response& r) {
    r.set_content(ctx->metrics.render(), "text/plain; version=0.0.4");
  });
  svr.set_error_handler([](const httplib::Request&, httplib::Response& r) {
    if (r.body.empty()) {
      r.set_content(r.status == 413 ? "request too large\n" : r.status == 404 ? "not found\n" : "bad request\n", "text/plain");
    }
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& r, std::exception_ptr) {
    r.status = 500;
    r.set_content("internal error\n", "text/plain");
  });
}

} // namespace authd::frontend::detail
