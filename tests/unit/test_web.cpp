// The self-service page's requests (web_route) over the in-memory store and the real core: the
// sessions, CSRF tokens, cookies, re-authentication and what each form changes in the store.
#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "authd/core/auth_service.hpp"
#include "authd/policy/app_password.hpp"
#include "authd/scheme/create.hpp"
#include "authd/util/encoding.hpp"
#include "frontend/web/pages.hpp"
#include "frontend/web/web_routes.hpp"
#include "frontend/web/web_sessions.hpp"

namespace authd::frontend::web {
namespace {

using detail::Reply;
using detail::Request;
using detail::Response;

std::string enc(std::string_view s) {
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) != 0) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string header(const Response& r, std::string_view name, int nth = 0) {
  for (const auto& [n, v] : r.headers) {
    if (ascii_lower(n) == ascii_lower(name) && nth-- == 0) {
      return v;
    }
  }
  return "";
}

// The value of NAME=VALUE; in a Set-Cookie header.
std::string cookie_value(const std::string& set_cookie) {
  const auto eq = set_cookie.find('=');
  return set_cookie.substr(eq + 1, set_cookie.find(';') - eq - 1);
}

std::string hidden_csrf(const std::string& html) {
  std::smatch m;
  return std::regex_search(html, m, std::regex("name=\"csrf\" value=\"([0-9a-f]+)\"")) ? m[1].str() : "";
}

class Web : public ::testing::Test {
protected:
  void SetUp() override {
    m_config.policy.bcrypt_cost = 4;
    m_config.core.verify_threads = 2;
    m_config.throttle.enabled = false; // but in SignInAndReauthenticationGoThroughTheLoginThrottle
    m_config.throttle.hold_max_ms = 0; // a throttled attempt is answered at once (429)
    m_config.throttle.initial_ms = 60000;
    m_policy = std::make_unique<policy::HashPolicy>(m_config.policy);
    m_service = std::make_unique<core::AuthService>(*m_store, *m_policy, m_config, m_metrics);
    m_ctx = std::make_shared<const WebContext>(WebContext{*m_service, *m_store, m_metrics, m_sessions,
                                                          std::make_shared<const config::Config>(m_config), {}});
    store::NewAccount a;
    a.username = "alice";
    a.password_hash = *scheme::bcrypt_hash(SecretView("alice-password", 14), 4);
    ASSERT_TRUE(m_store->create(a, {0, "", "create", "test", "", "", ""}));
    a.username = "bob";
    a.services = {"imap", "selfservice"};
    ASSERT_TRUE(m_store->create(a, {0, "", "create", "test", "", "", ""}));
  }

  // Runs a route to its final answer, as the server would (held answers wait their delay).
  Response run(Request req) {
    Reply r = web_route(req, m_ctx);
    while (r.work) {
      std::this_thread::sleep_for(r.delay);
      auto work = std::move(r.work);
      r = work();
    }
    return std::move(r.response);
  }

  Request get(std::string cookies = "") {
    Request req;
    req.method = "GET";
    req.path = "/";
    req.peer = "192.0.2.10";
    if (!cookies.empty()) {
      req.headers.emplace_back("Cookie", std::move(cookies));
    }
    return req;
  }

  Request post(std::string path, std::string body, std::string cookies) {
    Request req = get(std::move(cookies));
    req.method = "POST";
    req.path = std::move(path);
    req.body = std::move(body);
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return req;
  }

  Response sign_in(const std::string& user, const std::string& password) {
    const Response form = run(get());
    const std::string pre = cookie_value(header(form, "Set-Cookie"));
    return run(post("/sign-in", "csrf=" + hidden_csrf(form.body) + "&username=" + enc(user) + "&password=" + enc(password),
                    "__Host-authd-signin=" + pre));
  }

  // A signed-in session: the cookie header to send and the page's CSRF token.
  struct Browser {
    std::string cookie, csrf;
  };
  Browser signed_in(const std::string& user = "alice", const std::string& password = "alice-password") {
    const Response r = sign_in(user, password);
    EXPECT_EQ(r.status, 303);
    Browser b{"__Host-authd-session=" + cookie_value(header(r, "Set-Cookie")), ""};
    b.csrf = hidden_csrf(run(get(b.cookie)).body);
    return b;
  }

  std::string page(const Browser& b) { return run(get(b.cookie)).body; }

  config::Config m_config;
  std::unique_ptr<store::CredentialStore> m_store = store::make_memory_store();
  core::Metrics m_metrics;
  std::unique_ptr<policy::HashPolicy> m_policy;
  std::unique_ptr<core::AuthService> m_service;
  WebSessions m_sessions{SessionLimits{}};
  std::shared_ptr<const WebContext> m_ctx;
};

TEST_F(Web, SignInPageIsStrictAndSetsAPreSessionCookie) {
  const Response r = run(get());
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(header(r, "Content-Security-Policy").find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(header(r, "X-Frame-Options"), "DENY");
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  const std::string c = header(r, "Set-Cookie");
  EXPECT_TRUE(c.starts_with("__Host-authd-signin=")) << c;
  for (const char* attr : {"; Path=/", "; HttpOnly", "; SameSite=Strict", "; Secure"}) {
    EXPECT_NE(c.find(attr), std::string::npos) << attr << " in " << c;
  }
  EXPECT_EQ(hidden_csrf(r.body).size(), 80u) << "64 hex of the hash, 16 of the time it was made";
  EXPECT_EQ(r.body.find("<script"), std::string::npos);
}

TEST_F(Web, SignInNeedsTheFormTokenOfItsOwnCookie) {
  const Response a = run(get());
  const Response b = run(get());
  const std::string body = "csrf=" + hidden_csrf(a.body) + "&username=alice&password=alice-password";
  EXPECT_EQ(run(post("/sign-in", body, "__Host-authd-signin=" + cookie_value(header(b, "Set-Cookie")))).status, 400)
      << "another browser's token";
  EXPECT_EQ(run(post("/sign-in", body, "")).status, 400) << "no pre-session cookie";
  EXPECT_EQ(run(post("/sign-in", body, "__Host-authd-signin=" + cookie_value(header(a, "Set-Cookie")))).status, 303);
}

TEST_F(Web, SignInOpensAFreshSessionCookie) {
  const Response r = sign_in("alice", "alice-password");
  ASSERT_EQ(r.status, 303);
  EXPECT_EQ(header(r, "Location"), "./");
  const std::string c = header(r, "Set-Cookie");
  EXPECT_TRUE(c.starts_with("__Host-authd-session=")) << c;
  EXPECT_NE(c.find("; Secure"), std::string::npos);
  EXPECT_NE(c.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(header(r, "Set-Cookie", 1).find("Max-Age=0"), std::string::npos) << "the pre-session cookie is dropped";
  EXPECT_NE(cookie_value(c), cookie_value(header(sign_in("alice", "alice-password"), "Set-Cookie"))) << "never reused";
  EXPECT_NE(page({"__Host-authd-session=" + cookie_value(c), ""}).find("id=\"user\">alice<"), std::string::npos);
}

TEST_F(Web, UnknownUserAndWrongPasswordLookTheSame) {
  const Response wrong = sign_in("alice", "nope-nope");
  const Response unknown = sign_in("nobody", "nope-nope");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  const auto scrub = [](std::string s, const std::string& user) {
    s = std::regex_replace(s, std::regex("[0-9a-f]{64}"), "T");
    return std::regex_replace(s, std::regex(user), "U");
  };
  EXPECT_EQ(scrub(wrong.body, "alice"), scrub(unknown.body, "nobody"));
  EXPECT_EQ(wrong.headers.size(), unknown.headers.size());
}

TEST_F(Web, SignInAndReauthenticationGoThroughTheLoginThrottle) {
  const Browser b = signed_in();
  m_config.throttle.enabled = true;
  m_service->reconfigure(m_config);
  run(post("/app-passwords", "csrf=" + b.csrf + "&current=wrong-0&label=x&service=imap", b.cookie));
  EXPECT_NE(page(b).find("Your password was wrong"), std::string::npos);
  run(post("/app-passwords", "csrf=" + b.csrf + "&current=alice-password&label=x&service=imap", b.cookie));
  EXPECT_NE(page(b).find("Too many wrong passwords"), std::string::npos) << "a re-authentication is a login";
  EXPECT_TRUE(m_store->app_passwords("alice")->empty());
  const Response r = sign_in("alice", "alice-password");
  EXPECT_EQ(r.status, 429) << "the source waits, even with the right password";
  EXPECT_FALSE(header(r, "Retry-After").empty());
  EXPECT_NE(r.body.find("Too many failed attempts"), std::string::npos);
}

TEST_F(Web, AnAppPasswordDoesNotSignIn) {
  const SecretString secret = policy::generate_app_password();
  ASSERT_TRUE(m_store->add_app_password("alice", {*policy::app_password_verifier(secret), "phone", {"all"}, std::nullopt},
                                        {0, "", "app_password_add", "test", "", "", ""}));
  EXPECT_EQ(sign_in("alice", std::string(secret.view().reveal())).status, 401);
}

TEST_F(Web, TheMainPasswordRestrictionDoesNotLockTheUserOutOfThePage) {
  ASSERT_TRUE(m_store->set_main_password_services("alice", std::vector<std::string>{}, {0, "", "x", "test", "", "", ""}));
  EXPECT_EQ(sign_in("alice", "alice-password").status, 303);
}

TEST_F(Web, GrantsDecideWhoMayUseThePage) {
  ASSERT_TRUE(m_store->revoke("bob", "selfservice", {0, "", "revoke", "test", "", "", ""}));
  const Response r = sign_in("bob", "alice-password");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(header(r, "Set-Cookie").find("__Host-authd-session"), std::string::npos);
}

TEST_F(Web, FormsFromAnotherSiteOrWithoutTheTokenAreRefused) {
  const Browser b = signed_in();
  Request cross = post("/revoke", "csrf=" + b.csrf + "&id=1", b.cookie);
  cross.headers.emplace_back("Sec-Fetch-Site", "cross-site");
  EXPECT_EQ(run(std::move(cross)).status, 403);
  EXPECT_EQ(run(post("/sign-out", "csrf=" + std::string(64, 'a'), b.cookie)).status, 403);
  Request json = post("/sign-out", "csrf=" + b.csrf, b.cookie);
  json.headers.back().second = "application/json";
  EXPECT_EQ(run(std::move(json)).status, 415);
  EXPECT_EQ(run(post("/password", "csrf=" + b.csrf, "")).status, 401) << "no session: sign in again";
  const Browser other = signed_in("bob", "alice-password");
  EXPECT_EQ(run(post("/sign-out", "csrf=" + other.csrf, b.cookie)).status, 403) << "another session's token";
  EXPECT_NE(page(b).find("id=\"user\""), std::string::npos) << "still signed in";
}

TEST_F(Web, PasswordChangeReauthenticatesHashesToTheTargetAndEndsOtherSessions) {
  ASSERT_TRUE(m_store->set_hash("alice", "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", {0, "", "x", "test", "", "", ""})); // md5-crypt "password"
  const Browser b = signed_in("alice", "password");
  const Browser other = signed_in("alice", "password");
  const auto change = [&](const std::string& current, const std::string& fresh, const std::string& confirm) {
    return run(post("/password", "csrf=" + b.csrf + "&current=" + enc(current) + "&new=" + enc(fresh) + "&confirm=" + enc(confirm), b.cookie));
  };
  EXPECT_EQ(change("password", "a new long one", "a new long two").status, 303);
  EXPECT_NE(page(b).find("differ"), std::string::npos);
  change("password", "short", "short");
  EXPECT_NE(page(b).find("too short"), std::string::npos);
  change("password", "\xff\xfe invalid utf8", "\xff\xfe invalid utf8");
  EXPECT_NE(page(b).find("UTF-8"), std::string::npos);
  change("wrong-current", "a new long one", "a new long one");
  EXPECT_NE(page(b).find("Your password was wrong"), std::string::npos);
  EXPECT_TRUE(m_service->authenticate({"alice", SecretView("password", 8), "imap", ""}).status == core::AuthStatus::ok);

  EXPECT_EQ(change("password", "a new long one", "a new long one").status, 303);
  EXPECT_NE(page(b).find("password was changed"), std::string::npos);
  const auto account = **m_store->find("alice");
  EXPECT_TRUE(account.password_hash.starts_with("$2y$04$")) << "the target scheme at once";
  EXPECT_EQ(m_service->authenticate({"alice", SecretView("password", 8), "imap", ""}).status, core::AuthStatus::rejected);
  EXPECT_EQ(m_service->authenticate({"alice", SecretView("a new long one", 14), "imap", ""}).status, core::AuthStatus::ok);
  EXPECT_NE(page(other).find("id=\"sign-in\""), std::string::npos) << "the other browser was signed out";
  EXPECT_NE(page(b).find("id=\"user\""), std::string::npos) << "this one stays";
  const auto events = *m_store->events("alice", 1);
  EXPECT_EQ(events.at(0).kind, "password_change");
  EXPECT_EQ(events.at(0).actor, "selfservice");
}

TEST_F(Web, AppPasswordIsShownOnceEscapedScopedAndRevocable) {
  const Browser b = signed_in();
  const auto make = [&](const std::string& fields) {
    return run(post("/app-passwords", "csrf=" + b.csrf + "&current=alice-password&" + fields, b.cookie)).status;
  };
  EXPECT_EQ(make("label=x&service=ftp"), 303);
  EXPECT_NE(page(b).find("Choose the services from the list"), std::string::npos);
  make("label=x");
  EXPECT_NE(page(b).find("at least one service"), std::string::npos);
  make("label=x&service=imap&expires=2001-01-01");
  EXPECT_NE(page(b).find("expiry date"), std::string::npos);
  make("label=" + enc(std::string(201, 'a')) + "&service=imap");
  EXPECT_TRUE(m_store->app_passwords("alice")->empty());

  EXPECT_EQ(make("label=" + enc("<script>alert(1)</script>\"") + "&service=imap&service=imap"), 303);
  const std::string shown = page(b);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(shown, m, std::regex("id=\"new-app-password\">([a-z0-9-]+)<")));
  const std::string secret = m[1].str();
  EXPECT_EQ(shown.find("<script>"), std::string::npos);
  EXPECT_NE(shown.find("&lt;script&gt;alert(1)&lt;/script&gt;&quot;"), std::string::npos);
  EXPECT_EQ(page(b).find(secret), std::string::npos) << "shown once";
  const auto apps = *m_store->app_passwords("alice");
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0].services, std::vector<std::string>{"imap"});
  const SecretView typed(secret.data(), secret.size());
  EXPECT_EQ(m_service->authenticate({"alice", typed, "imap", ""}).status, core::AuthStatus::ok);
  EXPECT_EQ(m_service->authenticate({"alice", typed, "nextcloud", ""}).status, core::AuthStatus::rejected);

  const Browser bob = signed_in("bob", "alice-password");
  run(post("/revoke", "csrf=" + bob.csrf + "&id=" + std::to_string(apps[0].id), bob.cookie));
  EXPECT_NE(page(bob).find("No such app password"), std::string::npos) << "not bob's to revoke";
  for (const char* id : {"-1", "0", "99999999999999999999", "1x", ""}) {
    EXPECT_EQ(run(post("/revoke", "csrf=" + b.csrf + "&id=" + id, b.cookie)).status, 303);
  }
  EXPECT_EQ(m_service->authenticate({"alice", typed, "imap", ""}).status, core::AuthStatus::ok) << "still active";
  run(post("/revoke", "csrf=" + b.csrf + "&id=" + std::to_string(apps[0].id), b.cookie));
  EXPECT_NE(page(b).find("was revoked"), std::string::npos);
  EXPECT_EQ(m_service->authenticate({"alice", typed, "imap", ""}).status, core::AuthStatus::rejected);
  EXPECT_NE(page(b).find("app password \xe2\x80\x9c&lt;script&gt;"), std::string::npos) << "the IMAP login in recent logins";
}

TEST_F(Web, ASessionEndsWhenItsAccountIsDeletedAndMadeAgainOrItsPasswordIsSetElsewhere) {
  const Browser b = signed_in();
  ASSERT_TRUE(m_store->remove("alice", {0, "", "delete", "test", "", "", ""}));
  store::NewAccount again;
  again.username = "alice";
  again.password_hash = *scheme::bcrypt_hash(SecretView("alice-password", 14), 4);
  ASSERT_TRUE(m_store->create(again, {0, "", "create", "test", "", "", ""}));
  EXPECT_NE(page(b).find("You were signed out"), std::string::npos) << "the new alice is not the old one";

  const Browser c = signed_in();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100)); // password_changed_at counts seconds
  ASSERT_TRUE(m_store->set_hash("alice", *scheme::bcrypt_hash(SecretView("reset-by-admin", 14), 4), {0, "", "password_change", "authctl", "", "", ""}));
  EXPECT_EQ(run(post("/revoke", "csrf=" + c.csrf + "&id=1", c.cookie)).status, 401) << "an admin reset ends the session";
  EXPECT_NE(page(c).find("id=\"sign-in\""), std::string::npos);
}

TEST_F(Web, ADisabledAccountCannotChangeAnything) {
  const Browser b = signed_in();
  const SecretString secret = policy::generate_app_password();
  auto id = m_store->add_app_password("alice", {*policy::app_password_verifier(secret), "phone", {"imap"}, std::nullopt},
                                      {0, "", "app_password_add", "test", "", "", ""});
  ASSERT_TRUE(m_store->set_enabled("alice", false, {0, "", "disable", "test", "", "", ""}));
  EXPECT_EQ(run(post("/revoke", "csrf=" + b.csrf + "&id=" + std::to_string(*id), b.cookie)).status, 401);
  EXPECT_FALSE(m_store->app_passwords("alice")->at(0).revoked);
  ASSERT_TRUE(m_store->set_enabled("alice", true, {0, "", "enable", "test", "", "", ""}));
  EXPECT_NE(page(b).find("id=\"sign-in\""), std::string::npos) << "signed out for good";
}

TEST_F(Web, ALocalClientWithoutAForwardedAddressIsThrottledByItsOwn) {
  m_config.throttle.enabled = true;
  m_service->reconfigure(m_config);
  m_ctx = std::make_shared<const WebContext>(WebContext{*m_service, *m_store, m_metrics, m_sessions,
                                                        std::make_shared<const config::Config>(m_config),
                                                        {*parse_cidr("192.0.2.0/24")}});
  EXPECT_EQ(sign_in("alice", "wrong").status, 401);
  EXPECT_EQ(sign_in("alice", "alice-password").status, 429) << "a trusted peer sending no X-Forwarded-For is not anonymous here";
}

TEST_F(Web, TwoAppPasswordsMadeBeforeThePageIsSeenAreBothShown) {
  const Browser b = signed_in();
  for (const char* label : {"one", "two"}) {
    run(post("/app-passwords", "csrf=" + b.csrf + "&current=alice-password&service=imap&label=" + label, b.cookie));
  }
  const std::string shown = page(b);
  const std::regex code("<code[^>]*>[a-z0-9]{4}-");
  EXPECT_EQ(std::distance(std::sregex_iterator(shown.begin(), shown.end(), code), std::sregex_iterator()), 2);
}

TEST_F(Web, OnlyAFormBodyIsAForm) {
  const Browser b = signed_in();
  Request odd = post("/sign-out", "csrf=" + b.csrf, b.cookie);
  odd.headers.back().second = "application/x-www-form-urlencodedfoo";
  EXPECT_EQ(run(std::move(odd)).status, 415);
  Request ok = post("/sign-out", "csrf=" + b.csrf, b.cookie);
  ok.headers.back().second = "Application/X-WWW-Form-Urlencoded ; charset=UTF-8";
  EXPECT_EQ(run(std::move(ok)).status, 303);
}

TEST_F(Web, ADisabledAccountIsSignedOut) {
  const Browser b = signed_in();
  ASSERT_TRUE(m_store->set_enabled("alice", false, {0, "", "disable", "test", "", "", ""}));
  EXPECT_NE(page(b).find("You were signed out"), std::string::npos);
  ASSERT_TRUE(m_store->set_enabled("alice", true, {0, "", "enable", "test", "", "", ""}));
  EXPECT_NE(page(b).find("id=\"sign-in\""), std::string::npos) << "the session stays ended";
}

TEST_F(Web, SignOutEndsTheSession) {
  const Browser b = signed_in();
  const Response r = run(post("/sign-out", "csrf=" + b.csrf, b.cookie));
  EXPECT_EQ(r.status, 303);
  EXPECT_NE(header(r, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_NE(page(b).find("id=\"sign-in\""), std::string::npos);
}

TEST(WebSessionsTable, IsBoundedPerAccountAndInAllAndExpires) {
  WebSessions s(SessionLimits{std::chrono::seconds(60), std::chrono::seconds(600), 20, 8});
  const auto t0 = Clock::now();
  std::vector<std::string> alice;
  for (int i = 0; i < 10; ++i) {
    alice.push_back(s.open("alice", 1, 0, t0 + std::chrono::milliseconds(i)));
  }
  EXPECT_EQ(s.size(), 8u) << "8 per account";
  EXPECT_FALSE(s.find(alice[0], t0 + std::chrono::seconds(1))) << "the oldest ended";
  EXPECT_TRUE(s.find(alice[9], t0 + std::chrono::seconds(1)));
  for (int i = 0; i < 30; ++i) {
    s.open("user" + std::to_string(i), 2 + i, 0, t0 + std::chrono::seconds(2));
  }
  EXPECT_EQ(s.size(), 20u) << "max_sessions";
  const std::string fresh = s.open("carol", 40, 0, t0 + std::chrono::seconds(3));
  EXPECT_TRUE(s.find(fresh, t0 + std::chrono::seconds(62)));
  EXPECT_FALSE(s.find(fresh, t0 + std::chrono::seconds(123))) << "idle";
  const std::string kept = s.open("dave", 41, 0, t0);
  for (int m = 1; m < 10; ++m) {
    ASSERT_TRUE(s.find(kept, t0 + std::chrono::seconds(50 * m)));
  }
  EXPECT_FALSE(s.find(kept, t0 + std::chrono::seconds(601))) << "absolute lifetime";
  EXPECT_FALSE(s.find("short")) << "not a cookie";
  EXPECT_NE(s.signin_token("a", 1000), s.signin_token("b", 1000));
  const std::string token = s.signin_token("a", 1000);
  EXPECT_TRUE(s.signin_token_ok("a", token, 1000));
  EXPECT_TRUE(s.signin_token_ok("a", token, 4599));
  EXPECT_FALSE(s.signin_token_ok("a", token, 4600)) << "an hour old";
  EXPECT_FALSE(s.signin_token_ok("a", token, 999)) << "from the future";
  EXPECT_FALSE(s.signin_token_ok("b", token, 1000)) << "another cookie";
  std::string later = token;
  later.replace(64, 16, "00000000000004b0"); // claims to be made at 1200
  EXPECT_FALSE(s.signin_token_ok("a", later, 1300)) << "the time is part of the hash";
}

TEST(WebPages, EscapeEverything) {
  EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  SignInView v{"tok", "\"><script>", "<b>"};
  const std::string html = sign_in_page(v);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
}

} // namespace
} // namespace authd::frontend::web
