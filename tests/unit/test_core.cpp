// The core against the in-memory store: every outcome, the upgrade and its races, timing
// equalisation (a verify runs for unknown users), the cache, userdb lookups, a live reload, app
// passwords. The throttle: test_core_throttle.cpp; the worker pools and metrics: test_core_pools.cpp.
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "core_fixture.hpp"

namespace authd::core {
namespace {

using store::Event;

TEST_F(Core, LegacyLoginSucceedsAndUpgradesOnce) {
  add("alice", k_md5);
  auto r = login("Alice", "password");
  EXPECT_EQ(r.status, AuthStatus::ok);
  EXPECT_EQ(r.user, "alice");
  EXPECT_TRUE(r.upgraded);
  EXPECT_EQ(r.scheme, "plain_md5");
  EXPECT_TRUE(stored("alice").starts_with("$2y$04$"));
  auto again = login("alice", "password");
  EXPECT_EQ(again.status, AuthStatus::ok);
  EXPECT_FALSE(again.upgraded);
  EXPECT_EQ(again.scheme, "bcrypt");
  EXPECT_EQ(m_metrics.value("authd_upgrades_total", {{"from", "plain_md5"}, {"result", "written"}}), 1);
  auto events = *m_store.events("alice", 10);
  EXPECT_EQ(events.front().kind, "upgrade");
  EXPECT_EQ(events.front().from_scheme, "plain_md5");
  auto a = **m_store.find("alice");
  EXPECT_EQ(a.last_login_service, "imap");
}

TEST_F(Core, WrongUnknownDisabledLockedAreRejectedAfterAVerify) {
  add("bob", k_md5);
  add("carol", k_md5, {}, false);
  add("dave", "!" + k_md5);
  m_config.throttle.enabled = false;
  rebuild();
  EXPECT_EQ(login("bob", "wrong").status, AuthStatus::rejected);
  EXPECT_EQ(stored("bob"), k_md5) << "nothing written on a mismatch";
  EXPECT_EQ(login("nobody", "password").status, AuthStatus::rejected);
  EXPECT_EQ(login("carol", "password").status, AuthStatus::rejected);
  EXPECT_EQ(login("dave", "password").status, AuthStatus::rejected);
  EXPECT_EQ(login(std::string(300, 'x'), "password").status, AuthStatus::rejected);
  // every one of them paid for a hash: unknown/disabled/locked run the dummy verify,
  // the legacy mismatch is padded with it
  EXPECT_NE(m_metrics.render().find("authd_verify_seconds_count 5\n"), std::string::npos) << m_metrics.render();
}

TEST_F(Core, ServiceGrantsGiveForbiddenOnlyWithTheRightPassword) {
  add("erin", k_md5, {"imap"});
  m_config.throttle.enabled = false;
  rebuild();
  EXPECT_EQ(login("erin", "password", "imap").status, AuthStatus::ok);
  EXPECT_EQ(login("erin", "password", "nextcloud").status, AuthStatus::forbidden);
  EXPECT_EQ(login("erin", "wrong", "nextcloud").status, AuthStatus::rejected) << "no existence leak";
}

TEST_F(Core, StoreFailureIsATemporaryFailureNeverARejection) {
  add("frank", k_md5);
  m_store.failing = true;
  for (const char* pw : {"password", "wrong"}) {
    EXPECT_EQ(login("frank", pw).status, AuthStatus::tempfail);
  }
  EXPECT_EQ(login("nobody", "x").status, AuthStatus::tempfail);
  EXPECT_FALSE(m_service->ready());
  EXPECT_EQ(m_metrics.value("authd_store_errors_total", {{"op", "find"}}), 3);
  m_store.failing = false;
  EXPECT_EQ(login("frank", "password").status, AuthStatus::ok);
}

TEST_F(Core, LostUpgradeRaceStillLogsIn) {
  add("grace", k_md5);
  m_store.before_swap = [&] { // an admin changes the password between verify and write
    ASSERT_TRUE(m_store.set_hash("grace", "$2y$04$adminadminadminadminadeWG29KuyeAicPCJODk1zjyGvyQUU2awu",
                                 Event{0, "", "password_change", "authctl", "", "", ""}));
  };
  auto r = login("grace", "password");
  EXPECT_EQ(r.status, AuthStatus::ok);
  EXPECT_FALSE(r.upgraded);
  EXPECT_TRUE(stored("grace").starts_with("$2y$04$admin")) << "the admin's change wins";
  EXPECT_EQ(m_metrics.value("authd_upgrades_total", {{"from", "plain_md5"}, {"result", "cas_lost"}}), 1);
}

TEST_F(Core, FailedUpgradeWriteStillLogsIn) {
  add("heidi", k_md5);
  m_store.before_swap = [&] { m_store.failing = true; };
  auto r = login("heidi", "password");
  m_store.failing = false;
  EXPECT_EQ(r.status, AuthStatus::ok);
  EXPECT_FALSE(r.upgraded);
  EXPECT_EQ(m_metrics.value("authd_upgrades_total", {{"from", "plain_md5"}, {"result", "failed"}}), 1);
}

TEST_F(Core, MalformedStoredHashIsATemporaryFailure) {
  add("ivan", "$2y$04$truncated");
  EXPECT_EQ(login("ivan", "password").status, AuthStatus::tempfail);
}

TEST_F(Core, ConcurrentLegacyLoginsUpgradeExactlyOnce) {
  add("judy", k_md5);
  std::vector<std::future<AuthResult>> logins;
  for (int i = 0; i < 16; ++i) {
    logins.push_back(std::async(std::launch::async, [&] { return login("judy", "password", "imap", ""); }));
  }
  int upgraded = 0;
  for (auto& f : logins) {
    auto r = f.get();
    EXPECT_EQ(r.status, AuthStatus::ok);
    upgraded += r.upgraded ? 1 : 0;
  }
  EXPECT_EQ(upgraded, 1);
  auto events = *m_store.events("judy", 100);
  EXPECT_EQ(std::count_if(events.begin(), events.end(), [](const Event& e) { return e.kind == "upgrade"; }), 1);
}

TEST_F(Core, PositiveCacheHitsAndFollowsHashChanges) {
  m_config.core.cache = true;
  rebuild();
  add("leo", *scheme::bcrypt_hash(SecretString("password"), 4));
  EXPECT_EQ(login("leo", "password").status, AuthStatus::ok);
  auto hit = login("leo", "password");
  EXPECT_EQ(hit.status, AuthStatus::ok);
  EXPECT_EQ(hit.scheme, "cached");
  EXPECT_NE(login("leo", "wrong").scheme, "cached");
  ASSERT_TRUE(m_store.set_hash("leo", k_md5, Event{0, "", "password_change", "t", "", "", ""}));
  EXPECT_NE(login("leo", "password", "imap", "198.51.100.1").scheme, "cached") << "a changed hash is never answered from cache";
  ASSERT_TRUE(m_store.set_enabled("leo", false, Event{0, "", "disable", "t", "", "", ""}));
  EXPECT_EQ(login("leo", "password", "imap", "198.51.100.2").status, AuthStatus::rejected);
}

TEST_F(Core, LockedMarkersAreLockedAccountsNotTemporaryFailures) {
  int i = 0;
  for (const char* marker : {"*", "*0", "*1", "*LK*", "*NP*", "{CRYPT}*", "{CRYPT}!", "!", "!$2y$04$abcdefghijklmnopqrstuu"}) {
    const std::string name = "locked" + std::to_string(i++);
    add(name, marker);
    EXPECT_EQ(login(name, "anything", "imap", "192.0.2." + std::to_string(i)).status, AuthStatus::rejected) << marker;
  }
}

// An empty password never logs in, even against a stored hash of ""; a refused service (403) is
// not a login: no last-login, no familiar source.
TEST_F(Core, EmptyPasswordsAndForbiddenServicesAreNotLogins) {
  add("nil", "d41d8cd98f00b204e9800998ecf8427e"); // md5("")
  EXPECT_EQ(login("nil", "").status, AuthStatus::rejected);
  EXPECT_EQ(stored("nil"), "d41d8cd98f00b204e9800998ecf8427e") << "and nothing is rehashed";
  add("nora", k_md5, {"imap"});
  EXPECT_EQ(login("nora", "password", "web", "198.51.100.7").status, AuthStatus::forbidden);
  EXPECT_FALSE((**m_store.find("nora")).last_login_at) << "a 403 is not a login";
  EXPECT_FALSE(*m_store.familiar((**m_store.find("nora")).id, "198.51.100.7", 0));
  EXPECT_EQ(login("nora", "password", "imap", "198.51.100.7").status, AuthStatus::ok);
  EXPECT_TRUE((**m_store.find("nora")).last_login_at);
}

TEST_F(Core, LookupForUserdb) {
  add("mia", k_md5, {"imap"});
  EXPECT_EQ(m_service->lookup("MIA").status, AuthStatus::ok);
  EXPECT_EQ(m_service->lookup("nobody").status, AuthStatus::rejected);
  ASSERT_TRUE(m_store.revoke("mia", "imap", Event{0, "", "revoke", "t", "", "", ""}));
  ASSERT_TRUE(m_store.grant("mia", "smtp", Event{0, "", "grant", "t", "", "", ""}));
  EXPECT_EQ(m_service->lookup("mia").status, AuthStatus::ok) << "grants decide logins, not delivery";
  EXPECT_EQ(login("mia", "password", "imap").status, AuthStatus::forbidden);
  ASSERT_TRUE(m_store.set_enabled("mia", false, Event{0, "", "disable", "t", "", "", ""}));
  EXPECT_EQ(m_service->lookup("mia").status, AuthStatus::ok) << "a disabled account still receives mail";
  EXPECT_EQ(login("mia", "password", "smtp").status, AuthStatus::rejected) << "but cannot log in";
  config::Config strict;
  strict.core.lookup_disabled = false;
  AuthService bouncing(m_store, *m_policy, strict, m_metrics);
  EXPECT_EQ(bouncing.lookup("mia").status, AuthStatus::rejected) << "lookup_disabled = false: disabled = unknown";
  m_store.failing = true;
  EXPECT_EQ(m_service->lookup("mia").status, AuthStatus::tempfail);
}

// Issue 14: a SIGHUP reload reaches the running core.
TEST_F(Core, ReconfigureChangesThePolicyThrottleCacheAndLookupsLive) {
  add("rita", k_md5);
  add("sam", k_md5, {}, false);
  config::Config next = m_config;
  next.policy.bcrypt_cost = 5;
  next.throttle.enabled = false;
  next.core.cache = true;
  next.core.lookup_disabled = false;
  EXPECT_EQ(m_service->lookup("sam").status, AuthStatus::ok) << "disabled accounts are found by default";
  m_service->reconfigure(next);
  ASSERT_EQ(login("rita", "password").status, AuthStatus::ok);
  EXPECT_TRUE(stored("rita").starts_with("$2y$05$")) << "the upgrade used the reloaded cost: " << stored("rita").substr(0, 7);
  EXPECT_EQ(login("rita", "password").scheme, "cached") << "the cache was turned on (the upgraded hash is remembered)";
  EXPECT_EQ(m_service->lookup("sam").status, AuthStatus::rejected) << "lookup_disabled = false";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(login("rita", "wrong" + std::to_string(i)).status, AuthStatus::rejected) << "throttle off: never held";
  }
  next.core.cache = false;
  next.throttle.enabled = true;
  next.throttle.initial_ms = 5000;
  m_service->reconfigure(next);
  EXPECT_EQ(login("rita", "password").scheme, "bcrypt") << "the cache is off and forgotten";
  EXPECT_EQ(login("rita", "wrong").status, AuthStatus::rejected);
  EXPECT_EQ(login("rita", "password").status, AuthStatus::throttled) << "the throttle is back on with the new delay";
  EXPECT_EQ(m_service->throttle_config().initial_ms, 5000);
}

} // namespace
} // namespace authd::core

#include "authd/policy/app_password.hpp"

namespace authd::core {
namespace {
// Issue 16: app passwords in place of the account's password, for the services they are scoped to.
class AppPasswords : public Core {
protected:
  std::string app(const std::string& user, std::vector<std::string> services, std::optional<std::int64_t> expires = {}) {
    const SecretString secret = policy::generate_app_password();
    auto id = m_store.add_app_password(user, {*policy::app_password_verifier(secret), "t", std::move(services), expires},
                                       Event{0, "", "app_password_add", "test", "", "", ""});
    EXPECT_TRUE(id);
    m_last_id = id ? *id : 0;
    return std::string(secret.view().reveal());
  }
  std::int64_t m_last_id = 0;
};

TEST_F(AppPasswords, ScopedToItsServicesAndRevocable) {
  add("kai", k_md5);
  const std::string phone = app("kai", {"imap", "smtp"});
  auto r = login("kai", phone, "imap");
  EXPECT_EQ(r.status, AuthStatus::ok);
  EXPECT_EQ(r.scheme, "app_password");
  EXPECT_FALSE(r.upgraded) << "the account's own hash is not touched";
  EXPECT_EQ(stored("kai"), k_md5);
  auto used = m_store.app_passwords("kai");
  ASSERT_TRUE(used && used->size() == 1);
  EXPECT_EQ(used->front().last_used_service, "imap");
  EXPECT_EQ(used->front().last_used_ip, "192.0.2.1");
  EXPECT_EQ(login("kai", phone, "nextcloud", "192.0.2.2").status, AuthStatus::rejected) << "not scoped to nextcloud";
  std::string spaced = phone;
  for (char& c : spaced) {
    c = c == '-' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  EXPECT_EQ(login("kai", spaced, "smtp", "192.0.2.3").status, AuthStatus::ok) << "typed with spaces, in capitals";
  EXPECT_EQ(login("kai", "password", "imap", "192.0.2.4").status, AuthStatus::ok) << "the main password still works";
  ASSERT_TRUE(m_store.revoke_app_password("kai", m_last_id, Event{0, "", "app_password_revoke", "test", "", "", ""}));
  EXPECT_EQ(login("kai", phone, "imap", "192.0.2.5").status, AuthStatus::rejected) << "revoked: at once";
}

TEST_F(AppPasswords, ExpiredDisabledAndAnotherAccountsAreWrongPasswords) {
  add("lea", k_md5);
  add("max", k_md5);
  const std::string old = app("lea", {"imap"}, store::now_seconds() - 1);
  EXPECT_EQ(login("lea", old, "imap").status, AuthStatus::rejected) << "expired";
  const std::string leas = app("lea", {"imap"});
  EXPECT_EQ(login("max", leas, "imap", "192.0.2.9").status, AuthStatus::rejected) << "another account's";
  ASSERT_TRUE(m_store.set_enabled("lea", false, Event{0, "", "disable", "test", "", "", ""}));
  EXPECT_EQ(login("lea", leas, "imap", "192.0.2.10").status, AuthStatus::rejected) << "a disabled account's stop working";
}

TEST_F(AppPasswords, TheMainPasswordCanBeKeptOffTheMailServices) {
  add("nia", k_md5);
  ASSERT_TRUE(m_store.set_main_password_services("nia", std::vector<std::string>{"web"}, Event{0, "", "x", "test", "", "", ""}));
  EXPECT_EQ(login("nia", "password", "imap").status, AuthStatus::rejected) << "the main password, restricted to web";
  EXPECT_TRUE(stored("nia").starts_with("$2y$")) << "it was right, so the hash still moved to bcrypt";
  EXPECT_EQ(login("nia", "password", "web", "192.0.2.20").status, AuthStatus::ok);
  const std::string mail = app("nia", {"imap"});
  EXPECT_EQ(login("nia", mail, "imap", "192.0.2.21").status, AuthStatus::ok) << "mail clients use app passwords";
}

TEST_F(AppPasswords, ARestrictionSetAfterACachedLoginTakesEffectAtOnce) {
  m_config.core.cache = true;
  rebuild();
  add("pat", k_md5);
  ASSERT_EQ(login("pat", "password", "imap").status, AuthStatus::ok);
  ASSERT_EQ(login("pat", "password", "imap").scheme, "cached");
  ASSERT_TRUE(m_store.set_main_password_services("pat", std::vector<std::string>{"web"}, Event{0, "", "x", "test", "", "", ""}));
  EXPECT_EQ(login("pat", "password", "imap").status, AuthStatus::rejected) << "not answered from the cache";
}

TEST_F(AppPasswords, GrantsStillApplyAndAStoreFailureIsTemporary) {
  add("oli", k_md5, {"web"});
  const std::string any = app("oli", {"imap"});
  EXPECT_EQ(login("oli", any, "imap").status, AuthStatus::forbidden) << "the account has no imap grant";
  m_store.failing = true;
  EXPECT_EQ(login("oli", any, "imap", "192.0.2.30").status, AuthStatus::tempfail);
}

TEST(AppPasswordFormat, RandomLongTypableAndOnlyItsOwnShapeIsLookedUp) {
  const SecretString a = policy::generate_app_password();
  const SecretString b = policy::generate_app_password();
  EXPECT_NE(a.view().reveal(), b.view().reveal());
  EXPECT_EQ(a.size(), policy::k_app_password_chars + 6) << "26 characters in groups of four";
  for (const char c : a.view().reveal()) {
    EXPECT_TRUE(c == '-' || (std::islower(static_cast<unsigned char>(c)) && c != 'l' && c != 'o') || (c >= '2' && c <= '9')) << c;
  }
  ASSERT_TRUE(policy::app_password_verifier(a));
  EXPECT_EQ(policy::app_password_verifier(a)->size(), 64u);
  EXPECT_FALSE(policy::app_password_verifier(SecretString("password")));
  EXPECT_FALSE(policy::app_password_verifier(SecretString(std::string(26, '1')))) << "not its alphabet";
  EXPECT_FALSE(policy::app_password_verifier(SecretString(std::string(27, 'a'))));
}
} // namespace
} // namespace authd::core
