// The driver suite, continued (store_suite.hpp): what logins leave behind — the login record and
// recent logins, familiar sources — app passwords, and imports; on every driver.
#include <map>

#include <gtest/gtest.h>

#include "store_suite.hpp"

namespace authd::store {
namespace {

using namespace suite;

class StoreActivity : public StoreSuite {};

TEST_P(StoreActivity, RecordsLogins) {
  auto id = m_store->create(user("judy"), ev("create"));
  ASSERT_TRUE(m_store->record_login({*id, "imap", "198.51.100.7", 0, 1750000000}, 0));
  auto a = **m_store->find("judy");
  EXPECT_EQ(a.last_login_at, 1750000000);
  EXPECT_EQ(a.last_login_service, "imap");
}

TEST_P(StoreActivity, RecentLoginsAreGroupedLabelledForgottenAndPerAccount) {
  auto id = m_store->create(user("hal"), ev("create"));
  auto other = m_store->create(user("ike"), ev("create"));
  ASSERT_TRUE(id && other);
  store::NewAppPassword app{std::string(64, 'c'), "Phone \xc3\xa9", {"imap"}, std::nullopt};
  auto app_id = m_store->add_app_password("hal", app, ev("app_password_add"));
  ASSERT_TRUE(app_id);
  EXPECT_TRUE(m_store->recent_logins("hal", 10)->empty());
  ASSERT_TRUE(m_store->record_login({*id, "imap", "198.51.100.7", *app_id, 1000}, 0));
  ASSERT_TRUE(m_store->record_login({*id, "imap", "198.51.100.7", *app_id, 1100}, 0)) << "the same client: one row";
  ASSERT_TRUE(m_store->record_login({*id, "web", "", 0, 1050}, 0));
  ASSERT_TRUE(m_store->record_login({*other, "web", "203.0.113.9", 0, 1200}, 0));
  auto rows = m_store->recent_logins("HAL", 10);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].service, "imap");
  EXPECT_EQ((*rows)[0].ip, "198.51.100.7");
  EXPECT_EQ((*rows)[0].app_password_id, *app_id);
  EXPECT_EQ((*rows)[0].app_password_label, "Phone \xc3\xa9");
  EXPECT_EQ((*rows)[0].first_at, 1000);
  EXPECT_EQ((*rows)[0].last_at, 1100);
  EXPECT_EQ((*rows)[0].count, 2);
  EXPECT_EQ((*rows)[1].service, "web");
  EXPECT_EQ((*rows)[1].ip, "");
  EXPECT_EQ((*rows)[1].app_password_id, 0);
  EXPECT_EQ((*rows)[1].app_password_label, "");
  EXPECT_EQ(m_store->recent_logins("hal", 1)->size(), 1u) << "the limit holds";
  ASSERT_TRUE(m_store->record_login({*id, "web", "", 0, 5000}, 1060)) << "forgets rows last used before 1060";
  rows = m_store->recent_logins("hal", 10);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].service, "web");
  EXPECT_EQ((*rows)[0].count, 2);
  EXPECT_EQ(m_store->recent_logins("nobody", 10).error().kind, ErrorKind::not_found);
  ASSERT_TRUE(m_store->remove("hal", ev("delete")));
  ASSERT_TRUE(m_store->create(user("hal"), ev("create")));
  EXPECT_TRUE(m_store->recent_logins("hal", 10)->empty()) << "deleted with the account";
  EXPECT_EQ(m_store->recent_logins("ike", 10)->size(), 1u);
}

TEST_P(StoreActivity, FamiliarSourcesAreRememberedForgottenAndDeletedWithTheAccount) {
  auto id = m_store->create(user("fran"), ev("create"));
  ASSERT_TRUE(id);
  auto other = m_store->create(user("gus"), ev("create"));
  ASSERT_TRUE(other);
  EXPECT_FALSE(*m_store->familiar(*id, "198.51.100.7", 0));
  ASSERT_TRUE(m_store->remember_source(*id, "198.51.100.7", 1000, 0));
  ASSERT_TRUE(m_store->remember_source(*id, "2001:db8:1:2::/64", 1100, 0));
  EXPECT_TRUE(*m_store->familiar(*id, "198.51.100.7", 900));
  EXPECT_FALSE(*m_store->familiar(*id, "198.51.100.7", 1001)) << "older than the window";
  EXPECT_FALSE(*m_store->familiar(*other, "198.51.100.7", 0)) << "per account";
  ASSERT_TRUE(m_store->remember_source(*id, "198.51.100.7", 2000, 0)) << "a second login updates the row";
  EXPECT_TRUE(*m_store->familiar(*id, "198.51.100.7", 1500));
  ASSERT_TRUE(m_store->remember_source(*id, "203.0.113.1", 3000, 1500)) << "and drops the stale ones";
  EXPECT_FALSE(*m_store->familiar(*id, "2001:db8:1:2::/64", 0));
  EXPECT_TRUE(*m_store->familiar(*id, "198.51.100.7", 0));
  ASSERT_TRUE(m_store->remove("fran", ev("delete")));
  auto again = m_store->create(user("fran"), ev("create"));
  ASSERT_TRUE(again);
  EXPECT_FALSE(*m_store->familiar(*id, "198.51.100.7", 0)) << "the rows went with the account";
  EXPECT_FALSE(*m_store->familiar(*again, "198.51.100.7", 0));
}

// Issue 16: app passwords — stored by verifier, found by index, scoped, revocable, counted, gone
// with their account; the main-password restriction.
TEST_P(StoreActivity, AppPasswordsAreFoundByVerifierScopedRevocableAndDeletedWithTheAccount) {
  auto id = m_store->create(user("hana"), ev("create"));
  auto other = m_store->create(user("ivo"), ev("create"));
  ASSERT_TRUE(id && other);
  const std::string v1(64, 'a'), v2(64, 'b');
  auto a1 = m_store->add_app_password("Hana", {v1, "phone", {"smtp", "imap", "imap"}, std::nullopt}, ev("app_password_add"));
  ASSERT_TRUE(a1) << a1.error().message;
  auto a2 = m_store->add_app_password("hana", {v2, "", {"caldav"}, std::int64_t{4102444800}}, ev("app_password_add"));
  ASSERT_TRUE(a2);
  EXPECT_FALSE(m_store->add_app_password("hana", {std::string(64, 'c'), "", {}, std::nullopt}, ev("x"))) << "at least one service";
  EXPECT_FALSE(m_store->add_app_password("hana", {std::string(64, 'c'), "", {"IMAP!"}, std::nullopt}, ev("x")));
  auto missing = m_store->add_app_password("nobody", {std::string(64, 'd'), "", {"imap"}, std::nullopt}, ev("x"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);

  auto found = m_store->find_app_password(*id, v1);
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->label, "phone");
  EXPECT_EQ((*found)->services, (std::vector<std::string>{"imap", "smtp"}));
  EXPECT_FALSE((*found)->revoked);
  EXPECT_FALSE(m_store->find_app_password(*other, v1)->has_value()) << "another account's verifier is not this account's";
  ASSERT_TRUE(m_store->app_password_used(*a1, "imap", "192.0.2.5", 1234));
  auto list = m_store->app_passwords("hana");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(list->at(0).id, *a2) << "newest first";
  EXPECT_EQ(list->at(0).expires_at, std::int64_t{4102444800});
  EXPECT_EQ(list->at(1).last_used_at, 1234);
  EXPECT_EQ(list->at(1).last_used_service, "imap");
  EXPECT_EQ(list->at(1).last_used_ip, "192.0.2.5");

  std::int64_t counted = -1;
  ASSERT_TRUE(m_store->for_each([&](const Account& a) {
    if (a.username == "hana") {
      counted = a.active_app_passwords;
    }
    return true;
  }));
  EXPECT_EQ(counted, 2);
  ASSERT_TRUE(m_store->revoke_app_password("hana", *a1, ev("app_password_revoke")));
  ASSERT_TRUE(m_store->revoke_app_password("hana", *a1, ev("app_password_revoke"))) << "twice is fine";
  EXPECT_TRUE((**m_store->find_app_password(*id, v1)).revoked);
  auto foreign = m_store->revoke_app_password("ivo", *a2, ev("app_password_revoke"));
  ASSERT_FALSE(foreign) << "only the owner's";
  EXPECT_EQ(foreign.error().kind, ErrorKind::not_found);
  EXPECT_FALSE((**m_store->find_app_password(*id, v2)).revoked);

  ASSERT_TRUE(m_store->set_main_password_services("hana", std::vector<std::string>{"web", "nextcloud"}, ev("x")));
  auto hana = **m_store->find("hana");
  ASSERT_TRUE(hana.main_password_services);
  EXPECT_EQ(*hana.main_password_services, (std::vector<std::string>{"nextcloud", "web"}));
  EXPECT_TRUE(main_password_allowed(hana, "web"));
  EXPECT_FALSE(main_password_allowed(hana, "imap"));
  ASSERT_TRUE(m_store->set_main_password_services("hana", std::vector<std::string>{}, ev("x")));
  EXPECT_EQ((**m_store->find("hana")).main_password_services, std::vector<std::string>{}) << "none: app passwords only";
  ASSERT_TRUE(m_store->set_main_password_services("hana", std::nullopt, ev("x")));
  EXPECT_FALSE((**m_store->find("hana")).main_password_services) << "every service again";

  ASSERT_TRUE(m_store->remove("hana", ev("delete")));
  auto again = m_store->create(user("hana"), ev("create"));
  ASSERT_TRUE(again);
  EXPECT_FALSE(m_store->find_app_password(*id, v2)->has_value()) << "the app passwords went with the account";
  EXPECT_TRUE(m_store->app_passwords("hana")->empty());
}

TEST_P(StoreActivity, ImportInBatchesSkipsUpdatesAndIsAllOrNothing) {
  ASSERT_TRUE(m_store->create(user("exists", "{PLAIN}old"), ev("create")));
  std::vector<std::string> names;
  for (int i = 0; i < 1203; ++i) { // crosses batch boundaries
    names.push_back("imp" + std::to_string(i));
  }
  names.push_back("exists");
  names.push_back("IMP7"); // the same user twice in one file
  std::size_t at = 0;
  std::map<ImportOutcome, int> seen;
  auto next = [&](ImportRecord& r) {
    if (at >= names.size()) {
      return false;
    }
    r.account = user(names[at++], "{PLAIN}new");
    r.scheme = "plain";
    return true;
  };
  ASSERT_TRUE(m_store->import(next, false, "import", [&](const ImportRecord&, ImportOutcome o) { ++seen[o]; }));
  EXPECT_EQ(seen[ImportOutcome::imported], 1203);
  EXPECT_EQ(seen[ImportOutcome::skipped], 2);
  EXPECT_EQ((**m_store->find("exists")).password_hash, "{PLAIN}old");
  EXPECT_EQ((**m_store->find("imp1202")).password_hash, "{PLAIN}new");
  EXPECT_EQ(m_store->events("imp5", 10)->front().kind, "import");

  at = 0;
  names = {"exists", "fresh"};
  seen.clear();
  ASSERT_TRUE(m_store->import(next, true, "import", [&](const ImportRecord&, ImportOutcome o) { ++seen[o]; }));
  EXPECT_EQ(seen[ImportOutcome::updated], 1);
  EXPECT_EQ(seen[ImportOutcome::imported], 1);
  EXPECT_EQ((**m_store->find("exists")).password_hash, "{PLAIN}new");

  if (GetParam() != Kind::memory) { // the fake has no transactions
    at = 0;
    names = {"will-vanish", std::string("bad\nname")};
    EXPECT_FALSE(m_store->import(next, false, "import", [](const ImportRecord&, ImportOutcome) {}));
    EXPECT_FALSE(*m_store->find("will-vanish")) << "a failure midway rolls the whole import back";
  }
}

AUTHD_STORE_SUITE_ON_EVERY_DRIVER(StoreActivity);

} // namespace
} // namespace authd::store
