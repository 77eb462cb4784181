#include "web_answers.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "authd/util/encoding.hpp"
#include "frontend/http/routes.hpp"
#include "pages.hpp"

namespace authd::frontend::web {
namespace {

constexpr const char* k_csp =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

} // namespace

void count(const WebContext& c, std::string_view action, int status) {
  c.metrics.add("authd_selfservice_requests_total", {{"action", std::string(action)}, {"status", std::to_string(status)}});
}

Reply now(Response r) { return Reply{std::move(r), {}, core::Lane::priority, {}, {}}; }

// Every answer of the page: no script, no framing, no caching, no referrer.
Response page(int status, std::string html) {
  Response r;
  r.status = status;
  r.set_content(std::move(html), "text/html; charset=utf-8");
  r.set_header("Content-Security-Policy", k_csp);
  r.set_header("X-Frame-Options", "DENY");
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("Referrer-Policy", "no-referrer");
  r.set_header("Cache-Control", "no-store");
  r.set_header("Cross-Origin-Opener-Policy", "same-origin");
  r.set_header("Cross-Origin-Resource-Policy", "same-origin");
  return r;
}

// Post/Redirect/Get: back to the page (relative, so any path prefix of the proxy works).
Response see_other() {
  Response r = page(303, "");
  r.set_header("Location", "./");
  return r;
}

std::string session_cookie(const WebContext& c) {
  return c.config->selfservice.cookie_secure ? "__Host-authd-session" : "authd-session";
}
std::string signin_cookie(const WebContext& c) {
  return c.config->selfservice.cookie_secure ? "__Host-authd-signin" : "authd-signin";
}

std::string set_cookie(const WebContext& c, const std::string& name, std::string_view value, bool clear) {
  std::string out = name + "=" + std::string(value) + "; Path=/; HttpOnly; SameSite=Strict";
  if (c.config->selfservice.cookie_secure) {
    out += "; Secure";
  }
  return clear ? out + "; Max-Age=0" : out;
}

// The sign-in form with a fresh pre-session cookie its token is bound to.
Response sign_in(const WebContext& c, int status, std::string message, std::string user) {
  const std::string pre = WebSessions::random_token();
  Response r = page(status, sign_in_page({c.sessions.signin_token(pre, store::now_seconds()), std::move(user), std::move(message)}));
  r.set_header("Set-Cookie", set_cookie(c, signin_cookie(c), pre));
  return r;
}

Response message(int status, std::string_view title, std::string_view text) {
  return page(status, message_page(title, text));
}

std::string field(const Request& req, std::string_view name) { return detail::form_field(req.body, name).value_or(""); }

SecretString secret_field(const Request& req, std::string_view name) {
  SecretString out;
  if (auto v = detail::form_field(req.body, name)) {
    out.assign(*v);
    wipe(v->data(), v->size());
  }
  return out;
}

// The browser's address: from X-Forwarded-For when the peer is a trusted proxy; a trusted peer
// that forwards none (a local client talking to the page directly) is throttled by its own
// address, not let through as "unknown" — only browsers come here, and they come through a proxy.
std::string client(const Request& req, const WebContext& c) {
  std::string ip = detail::client_address(req, !req.peer.empty(), c.trusted);
  if (ip.empty() && !req.peer.empty()) {
    const auto peer = parse_ip(req.peer);
    ip = peer ? to_string(*peer) : "";
  }
  return ip;
}

std::string wait_text(std::chrono::milliseconds wait) {
  return std::to_string(std::max<long long>(1, (wait.count() + 999) / 1000)) + " seconds";
}

// A form POST from this page: not sent from another site (Sec-Fetch-Site, where the browser
// tells), a form body. Else the refusal.
std::optional<Response> bad_form(const Request& req) {
  const std::string& site = req.header("Sec-Fetch-Site");
  if (site == "cross-site" || site == "same-site") {
    return message(403, "Refused", "This form was sent from another site.");
  }
  std::string type = ascii_lower(req.header("Content-Type"));
  type = type.substr(0, type.find(';'));
  type.erase(type.find_last_not_of(" \t") + 1);
  if (type != "application/x-www-form-urlencoded") {
    return message(415, "Refused", "Expected a form.");
  }
  return std::nullopt;
}

// The session of a signed-in form POST whose CSRF token is right; else the answer to give.
std::optional<Signed> signed_post(const Request& req, const WebContext& c, Response& refusal) {
  if (auto bad = bad_form(req)) {
    refusal = std::move(*bad);
    return std::nullopt;
  }
  const std::string cookie = req.cookie(session_cookie(c));
  auto session = c.sessions.find(cookie);
  if (!session) {
    refusal = sign_in(c, 401, "Your session has ended. Please sign in again.");
    return std::nullopt;
  }
  const auto token = detail::form_field(req.body, "csrf");
  if (!token || !constant_time_equal(*token, session->csrf)) {
    refusal = message(403, "Refused", "This form is out of date. Go back, reload the page and try again.");
    return std::nullopt;
  }
  return Signed{cookie, std::move(*session)};
}

void log_action(const Signed& s, const char* action, const char* outcome, const std::string& ip) {
  spdlog::info("selfservice user=\"{}\" action={} outcome={} ip={}", s.session.user, action, outcome, ip.empty() ? "-" : ip);
}

Response unavailable() {
  return message(503, "Temporarily unavailable", "The account database cannot be reached right now. Try again in a minute.");
}

// The session's account as it is now (on a worker). Not ok — the session and every other of the
// name ended, the answer given — when the account is gone or is another one of the same name,
// is disabled, had its password set since the sign-in (elsewhere), or lost the page's grant.
std::optional<Response> not_standing(const WebContext& c, const Signed& s, std::optional<store::Account>& account) {
  auto found = c.store.find(s.session.user);
  if (!found) {
    return unavailable();
  }
  const store::Account* a = *found ? &**found : nullptr;
  if (a == nullptr || !a->enabled || a->id != s.session.account_id ||
      a->password_changed_at != s.session.password_changed_at || !store::allowed(*a, c.config->selfservice.service)) {
    c.sessions.close_account(s.session.user);
    return sign_in(c, 401, "You were signed out.");
  }
  account = std::move(*found);
  return std::nullopt;
}

} // namespace authd::frontend::web
