#include "web_routes.hpp"

#include <algorithm>
#include <charconv>

#include <spdlog/spdlog.h>

#include "authd/policy/app_password.hpp"
#include "authd/scheme/registry.hpp"
#include "authd/util/encoding.hpp"
#include "frontend/http/attempt.hpp"
#include "frontend/http/routes.hpp"
#include "pages.hpp"

namespace authd::frontend::web {
namespace {

using detail::Reply;
using detail::Request;
using detail::Response;
using Ctx = std::shared_ptr<const WebContext>;

constexpr std::size_t k_recent_logins = 20;
constexpr std::size_t k_max_active_app_passwords = 50;
constexpr const char* k_csp =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

// A signed-in request: the cookie it came with and its session.
struct Signed {
  std::string cookie;
  WebSession session;
};

void count(const WebContext& c, std::string_view action, int status) {
  c.metrics.add("authd_selfservice_requests_total", {{"action", std::string(action)}, {"status", std::to_string(status)}});
}

Reply now(Response r) { return Reply{std::move(r), {}, core::Lane::priority, {}}; }

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

std::string set_cookie(const WebContext& c, const std::string& name, std::string_view value, bool clear = false) {
  std::string out = name + "=" + std::string(value) + "; Path=/; HttpOnly; SameSite=Strict";
  if (c.config->selfservice.cookie_secure) {
    out += "; Secure";
  }
  return clear ? out + "; Max-Age=0" : out;
}

// The sign-in form with a fresh pre-session cookie its token is bound to.
Response sign_in(const WebContext& c, int status, std::string message, std::string user = "") {
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

// The signed-in page (on a worker: it reads the store). A deleted or disabled account's
// sessions end here.
Response account(const WebContext& c, const Signed& s, WebSessions::Flash flash) {
  std::optional<store::Account> found;
  if (auto gone = not_standing(c, s, found)) {
    return std::move(*gone);
  }
  auto apps = c.store.app_passwords(s.session.user);
  auto logins = c.store.recent_logins(s.session.user, k_recent_logins);
  if (!apps || !logins) {
    return unavailable();
  }
  const auto classified = c.service.current_policy()->classify(found->password_hash);
  AccountView v;
  v.user = s.session.user;
  v.csrf = s.session.csrf;
  v.scheme = classified.scheme;
  v.legacy = classified.status != policy::HashStatus::current;
  v.main_password_services = found->main_password_services;
  v.apps = std::move(*apps);
  v.logins = std::move(*logins);
  v.offered_services = c.config->selfservice.app_password_services;
  v.min_password_length = c.config->selfservice.min_password_length;
  v.notice = std::move(flash.notice);
  v.error = std::move(flash.error);
  v.new_secret = std::move(flash.secret);
  v.now = store::now_seconds();
  Response r = page(200, account_page(v));
  wipe(v.new_secret.data(), v.new_secret.size());
  return r;
}

// What every re-authenticated change does with an outcome other than ok: the user learns why
// nothing changed; a correct password the account may not use here ends its sessions.
Response not_done(const WebContext& c, const Signed& s, const core::AuthResult& r) {
  switch (r.status) {
  case core::AuthStatus::ok: break;
  case core::AuthStatus::forbidden:
    c.sessions.close_account(s.session.user);
    return sign_in(c, 403, "This account may not use this page.");
  case core::AuthStatus::rejected:
    c.sessions.set_flash(s.cookie, {"", "Your password was wrong: nothing was changed.", ""});
    return see_other();
  case core::AuthStatus::throttled:
    c.sessions.set_flash(s.cookie, {"", "Too many wrong passwords: nothing was changed. Wait " + wait_text(r.retry_after) + ".", ""});
    return see_other();
  case core::AuthStatus::tempfail: break;
  }
  c.sessions.set_flash(s.cookie, {"", "Your password could not be checked right now (the account database is not reachable): "
                                      "nothing was changed. Try again in a minute.", ""});
  return see_other();
}

// The account's own password checked again (the throttle applies), then `done` on the worker.
Reply reauthenticate(const Request& req, const Ctx& ctx, Signed s, SecretString password,
                     std::function<Response(const Signed&, const core::AuthResult&)> done) {
  auto a = std::make_shared<detail::Attempt>();
  a->user = s.session.user;
  a->service = ctx->config->selfservice.service;
  a->ip = client(req, *ctx);
  a->own_password_only = true;
  a->password = std::move(password);
  a->respond = [ctx, s = std::move(s), done = std::move(done)](const core::AuthResult& r) {
    std::optional<store::Account> account;
    if (auto gone = not_standing(*ctx, s, account)) {
      return std::move(*gone);
    }
    return r.status == core::AuthStatus::ok ? done(s, r) : not_done(*ctx, s, r);
  };
  return detail::start_attempt(std::move(a), ctx->service, ctx->metrics);
}

Reply get_page(const Request& req, const Ctx& ctx) {
  const std::string cookie = req.cookie(session_cookie(*ctx));
  auto session = ctx->sessions.find(cookie);
  if (!session) {
    count(*ctx, "page", 200);
    return now(sign_in(*ctx, 200, ""));
  }
  return Reply{{}, [ctx, s = Signed{cookie, std::move(*session)}] {
                 count(*ctx, "page", 200);
                 return now(account(*ctx, s, ctx->sessions.take_flash(s.cookie)));
               },
               core::Lane::priority, {}};
}

Reply post_sign_in(const Request& req, const Ctx& ctx) {
  if (auto bad = bad_form(req)) {
    return now(std::move(*bad));
  }
  std::string user = field(req, "username");
  const std::string pre = req.cookie(signin_cookie(*ctx));
  const auto token = detail::form_field(req.body, "csrf");
  if (pre.size() != 64 || !token || !ctx->sessions.signin_token_ok(pre, *token, store::now_seconds())) {
    count(*ctx, "sign_in", 400);
    return now(sign_in(*ctx, 400, "The sign-in form had expired (or cookies are blocked). Please try again.", user));
  }
  SecretString password = secret_field(req, "password");
  if (user.empty() || password.empty()) {
    count(*ctx, "sign_in", 400);
    return now(sign_in(*ctx, 400, "Enter your user name and password.", user));
  }
  auto a = std::make_shared<detail::Attempt>();
  a->user = user;
  a->service = ctx->config->selfservice.service;
  a->ip = client(req, *ctx);
  a->own_password_only = true;
  a->password = std::move(password);
  a->respond = [ctx, user](const core::AuthResult& r) {
    const int status = r.status == core::AuthStatus::ok ? 303 : r.status == core::AuthStatus::forbidden ? 403
                       : r.status == core::AuthStatus::rejected ? 401 : r.status == core::AuthStatus::throttled ? 429 : 503;
    count(*ctx, "sign_in", status);
    switch (r.status) {
    case core::AuthStatus::ok: {
      Response res = see_other();
      res.set_header("Set-Cookie", set_cookie(*ctx, session_cookie(*ctx),
                                              ctx->sessions.open(r.user, r.account->id, r.account->password_changed_at)));
      res.set_header("Set-Cookie", set_cookie(*ctx, signin_cookie(*ctx), "", true));
      return res;
    }
    case core::AuthStatus::forbidden: return sign_in(*ctx, 403, "This account may not use this page.", user);
    case core::AuthStatus::rejected: return sign_in(*ctx, 401, "Wrong user name or password.", user);
    case core::AuthStatus::throttled: {
      Response res = sign_in(*ctx, 429, "Too many failed attempts. Wait " + wait_text(r.retry_after) + " and try again.", user);
      res.set_header("Retry-After", std::to_string(std::max<long long>(1, (r.retry_after.count() + 999) / 1000)));
      return res;
    }
    case core::AuthStatus::tempfail: break;
    }
    Response res = sign_in(*ctx, 503, "Signing in is not possible right now (the account database is not reachable). "
                                      "Your password was not checked; try again in a minute.", user);
    res.set_header("Retry-After", "30");
    return res;
  };
  return detail::start_attempt(std::move(a), ctx->service, ctx->metrics);
}

Reply post_sign_out(const Request& req, const Ctx& ctx) {
  Response refusal;
  if (auto s = signed_post(req, *ctx, refusal)) {
    ctx->sessions.close(s->cookie);
  } else if (refusal.status != 401) {
    return now(std::move(refusal));
  }
  count(*ctx, "sign_out", 303);
  Response r = see_other();
  r.set_header("Set-Cookie", set_cookie(*ctx, session_cookie(*ctx), "", true));
  return now(std::move(r));
}

// The end of a change made on a worker: logged, counted (303 done, 503 the store failed) and said
// on the next page (the flash's error says it failed).
Response finish(const WebContext& c, const Signed& who, const char* action, const char* metric, const std::string& ip,
                WebSessions::Flash flash) {
  const bool ok = flash.error.empty();
  log_action(who, action, ok ? "ok" : "failed", ip);
  count(c, metric, ok ? 303 : 503);
  c.sessions.set_flash(who.cookie, std::move(flash));
  return see_other();
}

// A signed-in form that cannot be taken as it is: back to the page, saying why.
Reply form_problem(const WebContext& c, const Signed& s, const char* action, std::string why) {
  c.sessions.set_flash(s.cookie, {"", std::move(why), ""});
  count(c, action, 400);
  return now(see_other());
}

// Why a new password cannot be taken ("" = it can), before anything is verified.
std::string new_password_problem(const WebContext& c, const Signed& s, const SecretString& fresh, const SecretString& confirm,
                                 const SecretString& current) {
  if (!constant_time_equal(fresh.view().reveal(), confirm.view().reveal())) {
    return "The two new passwords differ: nothing was changed.";
  }
  if (!scheme::check_password(fresh)) {
    return "The new password is too long (at most 1024 bytes): nothing was changed.";
  }
  const auto chars = utf8_length(fresh.view().reveal());
  if (!chars) {
    return "The new password is not valid text (UTF-8): nothing was changed.";
  }
  if (*chars < static_cast<std::size_t>(c.config->selfservice.min_password_length)) {
    return "The new password is too short (at least " + std::to_string(c.config->selfservice.min_password_length) +
           " characters): nothing was changed.";
  }
  if (constant_time_equal(fresh.view().reveal(), current.view().reveal())) {
    return "The new password is the current one: nothing was changed.";
  }
  if (ascii_lower(fresh.view().reveal()) == ascii_lower(s.session.user)) {
    return "The new password cannot be your user name: nothing was changed.";
  }
  return "";
}

Reply post_password(const Request& req, const Ctx& ctx, std::optional<Signed> s) {
  SecretString current = secret_field(req, "current");
  auto fresh = std::make_shared<SecretString>(secret_field(req, "new"));
  const SecretString confirm = secret_field(req, "confirm");
  if (const std::string problem = new_password_problem(*ctx, *s, *fresh, confirm, current); !problem.empty()) {
    return form_problem(*ctx, *s, "password", problem);
  }
  const std::string ip = client(req, *ctx);
  return reauthenticate(req, ctx, std::move(*s), std::move(current), [ctx, fresh, ip](const Signed& who, const core::AuthResult& r) {
    auto changed = ctx->service.change_password(r.user, *fresh, "selfservice");
    if (!changed) {
      return finish(*ctx, who, "password_change", "password", ip,
                    {"", "Your password was not changed: the account database is not reachable. Try again in a minute.", ""});
    }
    ctx->sessions.close_account(who.session.user, who.cookie);
    if (auto after = ctx->store.find(who.session.user); after && *after) {
      ctx->sessions.rebind(who.cookie, (*after)->password_changed_at); // this browser stays signed in
    }
    return finish(*ctx, who, "password_change", "password", ip,
                  {"Your password was changed. Other browsers signed in as you were signed out.", "", ""});
  });
}

// The new app password's fields as the form gave them; `problem` says what is wrong.
struct AppForm {
  store::NewAppPassword app;
  std::string problem;
};

AppForm app_form(const Request& req, const WebContext& c) {
  AppForm f;
  f.app.label = field(req, "label");
  if (f.app.label.empty() || !policy::app_password_label_ok(f.app.label) || !utf8_length(f.app.label)) {
    f.problem = "Give the app password a label (one line, at most 200 bytes), e.g. the device it is for.";
    return f;
  }
  const auto& offered = c.config->selfservice.app_password_services;
  for (std::string& service : detail::form_fields(req.body, "service")) {
    if (std::find(offered.begin(), offered.end(), service) == offered.end()) {
      f.problem = "Choose the services from the list.";
      return f;
    }
    if (std::find(f.app.services.begin(), f.app.services.end(), service) == f.app.services.end()) {
      f.app.services.push_back(std::move(service));
    }
  }
  if (f.app.services.empty()) {
    f.problem = "Choose at least one service the app password is for.";
    return f;
  }
  if (const std::string expires = field(req, "expires"); !expires.empty()) {
    f.app.expires_at = policy::end_of_date(expires);
    if (!f.app.expires_at || *f.app.expires_at <= store::now_seconds()) {
      f.problem = "The expiry date must be a date (YYYY-MM-DD) from today on.";
    }
  }
  return f;
}

Reply post_app_password(const Request& req, const Ctx& ctx, std::optional<Signed> s) {
  auto form = std::make_shared<AppForm>(app_form(req, *ctx));
  if (!form->problem.empty()) {
    return form_problem(*ctx, *s, "app_password_add", form->problem + " No app password was made.");
  }
  const std::string ip = client(req, *ctx);
  return reauthenticate(req, ctx, std::move(*s), secret_field(req, "current"), [ctx, form, ip](const Signed& who, const core::AuthResult&) {
    auto existing = ctx->store.app_passwords(who.session.user);
    const auto active = existing ? std::count_if(existing->begin(), existing->end(), [](const store::AppPassword& a) { return !a.revoked; }) : 0;
    if (existing && static_cast<std::size_t>(active) >= k_max_active_app_passwords) {
      ctx->sessions.set_flash(who.cookie, {"", "You have " + std::to_string(active) + " app passwords: revoke some first.", ""});
      count(*ctx, "app_password_add", 400);
      return see_other();
    }
    SecretString secret = policy::generate_app_password();
    form->app.verifier = *policy::app_password_verifier(secret);
    auto id = existing ? ctx->store.add_app_password(who.session.user, form->app,
                                                     {0, "", "app_password_add", "selfservice", "", "", form->app.label})
                       : tl::unexpected(existing.error());
    if (!id) {
      return finish(*ctx, who, "app_password_add", "app_password_add", ip,
                    {"", "No app password was made: the account database is not reachable. Try again in a minute.", ""});
    }
    return finish(*ctx, who, "app_password_add", "app_password_add", ip,
                  {"App password \u201c" + form->app.label + "\u201d was made.", "", std::string(secret.view().reveal())});
  });
}

std::optional<std::int64_t> parse_id(const std::string& text) {
  std::int64_t id = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || id <= 0) {
    return std::nullopt;
  }
  return id;
}

Reply post_revoke(const Request& req, const Ctx& ctx, std::optional<Signed> s) {
  const auto id = parse_id(field(req, "id"));
  if (!id) {
    return form_problem(*ctx, *s, "app_password_revoke", "No such app password.");
  }
  const std::string ip = client(req, *ctx);
  return Reply{{}, [ctx, s = std::move(*s), id = *id, ip] {
                 std::optional<store::Account> account;
                 if (auto gone = not_standing(*ctx, s, account)) {
                   return now(std::move(*gone));
                 }
                 auto ok = ctx->store.revoke_app_password(s.session.user, id, {0, "", "app_password_revoke", "selfservice", "", "", std::to_string(id)});
                 const bool missing = !ok && ok.error().kind == ErrorKind::not_found;
                 log_action(s, "app_password_revoke", ok ? "ok" : missing ? "not_found" : "failed", ip);
                 count(*ctx, "app_password_revoke", ok ? 303 : missing ? 404 : 503);
                 ctx->sessions.set_flash(s.cookie, ok ? WebSessions::Flash{"The app password was revoked: it works nowhere any more.", "", ""}
                                                  : WebSessions::Flash{"", missing ? "No such app password." : "Nothing was revoked: the account database is not reachable. Try again in a minute.", ""});
                 return now(see_other());
               },
               core::Lane::priority, {}};
}

// A signed-in form POST: the session and its CSRF token checked, then `handler`.
Reply signed_action(const Request& req, const Ctx& ctx, const char* action,
                    Reply (*handler)(const Request&, const Ctx&, std::optional<Signed>)) {
  Response refusal;
  auto s = signed_post(req, *ctx, refusal);
  if (!s) {
    count(*ctx, action, refusal.status);
    return now(std::move(refusal));
  }
  return handler(req, ctx, std::move(s));
}

} // namespace

Reply web_route(Request& req, const Ctx& ctx) {
  const std::string& p = req.path;
  if (req.method == "GET" && (p == "/" || p == "/index.html")) {
    return get_page(req, ctx);
  }
  if (req.method == "GET" && p == "/style.css") {
    Response r;
    r.set_content(stylesheet(), "text/css; charset=utf-8");
    r.set_header("Cache-Control", "max-age=3600");
    r.set_header("X-Content-Type-Options", "nosniff");
    return now(std::move(r));
  }
  if (req.method == "POST") {
    if (p == "/sign-in") {
      return post_sign_in(req, ctx);
    }
    if (p == "/sign-out") {
      return post_sign_out(req, ctx);
    }
    if (p == "/password") {
      return signed_action(req, ctx, "password", post_password);
    }
    if (p == "/app-passwords") {
      return signed_action(req, ctx, "app_password_add", post_app_password);
    }
    if (p == "/revoke") {
      return signed_action(req, ctx, "app_password_revoke", post_revoke);
    }
  }
  return now(message(404, "Not found", "There is no such page here."));
}

} // namespace authd::frontend::web
