#include "web_routes.hpp"

#include <algorithm>
#include <charconv>

#include <spdlog/spdlog.h>

#include "authd/policy/app_password.hpp"
#include "authd/scheme/registry.hpp"
#include "authd/util/encoding.hpp"
#include "frontend/http/attempt.hpp"
#include "pages.hpp"
#include "web_answers.hpp"

namespace authd::frontend::web {
namespace {

using Ctx = std::shared_ptr<const WebContext>;

constexpr std::size_t k_recent_logins = 20;
constexpr std::size_t k_max_active_app_passwords = 50;

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
               core::Lane::priority, {}, {}};
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
               core::Lane::priority, {}, {}};
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
