#include "routes.hpp"

#include <nlohmann/json.hpp>

#include "authd/util/encoding.hpp"
#include "authd/util/net.hpp"
#include "attempt.hpp"

namespace authd::frontend::detail {
namespace {

using nlohmann::json;
using Ctx = std::shared_ptr<const RouteContext>;

void count(const RouteContext& ctx, const char* endpoint, int status) {
  ctx.metrics.add("authd_http_requests_total", {{"endpoint", endpoint}, {"status", std::to_string(status)}});
}

Reply answer(Response r) { return Reply{std::move(r), {}, core::Lane::priority, {}, {}}; }

Response text(int status, std::string body) {
  Response r;
  r.status = status;
  r.set_content(std::move(body), "text/plain");
  return r;
}

Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  r.set_content(body.dump(), "application/json");
  return r;
}

std::string client_ip(const Request& req, const RouteContext& ctx) { return client_address(req, ctx.tcp, ctx.trusted); }

void retry_after(Response& res, std::chrono::milliseconds wait) {
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

bool token_equal(std::string_view presented, const RouteContext& ctx) {
  const std::string& token = ctx.config->http.bearer_token;
  return !token.empty() && constant_time_equal(presented, token);
}

// A bearer token is configured and the request carries it: "Authorization: Bearer TOKEN", or
// "X-Authd-Token: TOKEN" where Authorization carries the user's Basic credentials.
bool bearer_presented(const Request& req, const RouteContext& ctx) {
  const std::string& header = req.header("Authorization");
  if (header.size() > 7 && ascii_lower(std::string_view(header).substr(0, 7)) == "bearer ") {
    return token_equal(std::string_view(header).substr(7), ctx);
  }
  return req.has_header("X-Authd-Token") && token_equal(req.header("X-Authd-Token"), ctx);
}

// What every password-checking endpoint (and /metrics) needs: the socket, no token configured,
// or the token.
bool bearer_ok(const Request& req, const RouteContext& ctx) {
  return !ctx.tcp || ctx.config->http.bearer_token.empty() || bearer_presented(req, ctx);
}

// JSON remote_ip is believed from a trusted peer (the socket, a trusted proxy) or a request that
// carries the bearer token; otherwise the address comes from the connection.
bool may_forward(const Request& req, const RouteContext& ctx) {
  if (!ctx.tcp || bearer_presented(req, ctx)) {
    return true;
  }
  const auto peer = parse_ip(req.peer);
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
Reply post_lookup(const Request& req, const Ctx& ctx) {
  if (ctx->tcp && !bearer_presented(req, *ctx)) {
    count(*ctx, "lookup", 403);
    return answer(json_response(403, {{"ok", false}, {"error", "lookup over TCP needs the bearer token (use the UNIX socket)"}}));
  }
  json body = json::parse(req.body, nullptr, false);
  std::string user, service;
  if (!body.is_object() || !string_field(body, "username", user) || !string_field(body, "service", service) ||
      user.empty() || (!service.empty() && !store::check_service(service))) {
    count(*ctx, "lookup", 400);
    return answer(json_response(400, {{"ok", false}, {"error", "need a string field username (and a valid service)"}}));
  }
  return Reply{{}, [ctx, user] {
                 const auto r = ctx->service.lookup(user); // a "service" field is accepted, grants are not applied
                 const int status = r.status == core::AuthStatus::rejected ? 404 : status_of(r.status);
                 json out = {{"ok", r.status == core::AuthStatus::ok}};
                 if (r.status == core::AuthStatus::ok) {
                   out["user"] = r.user;
                   add_account_fields(out, r);
                 }
                 count(*ctx, "lookup", status);
                 return answer(json_response(status, out));
               },
               core::Lane::priority, {}, {}};
}

Response auth_answer(const core::AuthResult& r, const RouteContext& ctx) {
  const int status = status_of(r.status);
  json out = {{"ok", r.status == core::AuthStatus::ok}};
  if (r.status == core::AuthStatus::ok) {
    out["user"] = r.user;
    out["upgraded"] = r.upgraded;
    add_account_fields(out, r);
  } else if (r.status != core::AuthStatus::rejected) {
    out["error"] = core::to_string(r.status);
  }
  Response res = json_response(status, out);
  if (r.status == core::AuthStatus::throttled || r.status == core::AuthStatus::tempfail) {
    retry_after(res, r.retry_after);
  }
  count(ctx, "auth", status);
  return res;
}

Reply post_auth(Request& req, const Ctx& ctx) {
  if (!bearer_ok(req, *ctx)) {
    count(*ctx, "auth", 401);
    return answer(json_response(401, {{"ok", false}, {"error", "bearer token required"}}));
  }
  auto fields = parse_auth_json(req.body);
  wipe(req.body.data(), req.body.size());
  if (!fields) {
    count(*ctx, "auth", 400);
    return answer(json_response(400, {{"ok", false}, {"error", fields.error().message}}));
  }
  const auto forwarded_ip = may_forward(req, *ctx) ? parse_ip(fields->ip) : std::nullopt;
  auto a = std::make_shared<Attempt>();
  a->user = std::move(fields->user);
  a->service = std::move(fields->service);
  a->ip = forwarded_ip ? to_string(*forwarded_ip) : client_ip(req, *ctx);
  a->password = std::move(fields->password);
  a->respond = [ctx](const core::AuthResult& r) { return auth_answer(r, *ctx); };
  return start_attempt(std::move(a), ctx->service, ctx->metrics);
}

Response challenge(const RouteContext& ctx, const char* why) {
  Response res = text(401, why);
  res.set_header("WWW-Authenticate", "Basic realm=\"" + ctx.config->http.realm + "\", charset=\"UTF-8\"");
  count(ctx, "basic", 401);
  return res;
}

Response basic_answer(const core::AuthResult& r, const RouteContext& ctx) {
  const int status = status_of(r.status);
  if (status == 401) {
    return challenge(ctx, "authentication failed\n");
  }
  Response res = text(status, status == 200 ? "" : status == 403 ? "not allowed for this service\n"
                                                                 : std::string(core::to_string(r.status)) + "\n");
  if (status == 200) {
    res.set_header("Remote-User", r.user);
    res.set_header("X-Remote-User", r.user);
  } else if (status == 429 || status == 503) {
    retry_after(res, r.retry_after);
  }
  count(ctx, "basic", status);
  return res;
}

Reply basic(Request& req, const Ctx& ctx, std::string service) {
  if (!bearer_ok(req, *ctx)) {
    count(*ctx, "basic", 403);
    return answer(text(403, "this endpoint needs the X-Authd-Token header on TCP\n"));
  }
  if (service.empty() && req.has_param("service")) {
    service = req.param("service");
  }
  if (!service.empty() && !store::check_service(service)) {
    count(*ctx, "basic", 400);
    return answer(text(400, "invalid service name\n"));
  }
  const char* header_name = req.has_header("Authorization") ? "Authorization" : "Proxy-Authorization";
  auto a = std::make_shared<Attempt>();
  std::string why;
  if (!parse_basic(req.header(header_name), a->user, a->password, why)) {
    return answer(challenge(*ctx, why.c_str()));
  }
  a->service = service.empty() ? "http" : service;
  a->ip = client_ip(req, *ctx);
  a->respond = [ctx](const core::AuthResult& r) { return basic_answer(r, *ctx); };
  return start_attempt(std::move(a), ctx->service, ctx->metrics);
}

} // namespace

// On TCP: the peer, or — when the peer is a trusted proxy — the first untrusted X-Forwarded-For
// entry from the right (X-Real-IP when there is no X-Forwarded-For). A trusted peer (the UNIX
// socket, a proxy) that forwards no address gives "": the client is unknown, so nothing is
// throttled per source on its behalf (a local Nextcloud relaying a spray of made-up names must not
// turn every other local login into the sprayer's neighbour).
std::string client_address(const Request& req, bool tcp, const std::vector<Cidr>& trusted) {
  std::optional<IpAddress> peer;
  if (tcp) {
    peer = parse_ip(req.peer);
    if (!peer) {
      return "";
    }
  }
  const std::string& forwarded = req.header("X-Forwarded-For");
  if (forwarded.empty() && (!peer || contains_any(trusted, *peer))) {
    const auto real = parse_ip(req.header("X-Real-IP"));
    return real ? to_string(*real) : "";
  }
  return forwarded_client(peer, forwarded, trusted);
}

std::shared_ptr<const RouteContext> make_context(core::AuthService& service, core::Metrics& metrics,
                                                 std::shared_ptr<const config::Config> config, bool tcp,
                                                 std::vector<Cidr> trusted) {
  return std::make_shared<RouteContext>(RouteContext{service, metrics, std::move(config), tcp, std::move(trusted)});
}

Reply route(Request& req, const Ctx& ctx) {
  const std::string& p = req.path;
  const bool get = req.method == "GET"; // no HEAD: nothing here is worth it, and an answer to HEAD has no body
  const bool post = req.method == "POST";
  if (p == "/v1/auth" && post) {
    return post_auth(req, ctx);
  }
  if (p == "/v1/lookup" && post) {
    return post_lookup(req, ctx);
  }
  if (get && (p == "/v1/basic" || p == "/api/authz/forward-auth" || p == "/api/authz/auth-request" || p == "/api/verify")) {
    return basic(req, ctx, "");
  }
  if (get && p.starts_with("/v1/basic/") && p.size() > 10 && p.find('/', 10) == std::string::npos) {
    return basic(req, ctx, p.substr(10));
  }
  if (get && p == "/healthz") {
    return answer(text(200, "ok\n"));
  }
  if (get && p == "/readyz") {
    return Reply{{}, [ctx] {
                   const bool up = ctx->service.ready();
                   return answer(text(up ? 200 : 503, up ? "ready\n" : "store unavailable\n"));
                 },
                 core::Lane::priority, {}, {}};
  }
  if (get && p == "/metrics") {
    if (!bearer_ok(req, *ctx)) {
      return answer(text(403, "/metrics on TCP needs the bearer token\n"));
    }
    Response r;
    r.set_content(ctx->metrics.render(), "text/plain; version=0.0.4");
    return answer(std::move(r));
  }
  return answer(text(404, "not found\n"));
}

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

} // namespace authd::frontend::detail
