#pragma once
// The self-service page's answers and request checks, shared by its handlers (web_routes.cpp):
// every page with its security headers, the cookies, the sign-in form, form fields, the
// browser's address, the cross-site and CSRF checks of a signed-in POST, and whether the
// session's account still stands.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "authd/util/secret.hpp"
#include "frontend/http/message.hpp"
#include "web_routes.hpp"

namespace authd::frontend::web {

using detail::Reply;
using detail::Request;
using detail::Response;

// A signed-in request: the cookie it came with and its session.
struct Signed {
  std::string cookie;
  WebSession session;
};

void count(const WebContext& c, std::string_view action, int status);
Reply now(Response r);
// Every answer of the page: no script, no framing, no caching, no referrer.
Response page(int status, std::string html);
// Post/Redirect/Get: back to the page (relative, so any path prefix of the proxy works).
Response see_other();
std::string session_cookie(const WebContext& c);
std::string signin_cookie(const WebContext& c);
std::string set_cookie(const WebContext& c, const std::string& name, std::string_view value, bool clear = false);
// The sign-in form with a fresh pre-session cookie its token is bound to.
Response sign_in(const WebContext& c, int status, std::string message, std::string user = "");
Response message(int status, std::string_view title, std::string_view text);
Response unavailable();
std::string field(const Request& req, std::string_view name);
SecretString secret_field(const Request& req, std::string_view name);
// The browser's address (see web_answers.cpp).
std::string client(const Request& req, const WebContext& c);
std::string wait_text(std::chrono::milliseconds wait);
// A form POST from this page (not cross-site, a form body); else the refusal.
std::optional<Response> bad_form(const Request& req);
// The session of a signed-in form POST whose CSRF token is right; else the answer to give.
std::optional<Signed> signed_post(const Request& req, const WebContext& c, Response& refusal);
void log_action(const Signed& s, const char* action, const char* outcome, const std::string& ip);
// The session's account as it is now (on a worker); else the answer (the sessions ended).
std::optional<Response> not_standing(const WebContext& c, const Signed& s, std::optional<store::Account>& account);

} // namespace authd::frontend::web
