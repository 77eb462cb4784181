// One suite, every driver: the same behaviour on SQLite, on a real MariaDB (TCP and socket) and
// on the in-memory fake the core tests use.
#include <algorithm>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "store_fixture.hpp"

namespace authd::store {
namespace {

enum class Kind { memory, sqlite, mariadb_tcp, mariadb_socket };

std::unique_ptr<CredentialStore> make(Kind kind) {
  if (kind == Kind::memory) {
    return make_memory_store();
  }
  const std::string url = kind == Kind::sqlite ? test::fresh_sqlite_url() : test::fresh_mariadb_url(kind == Kind::mariadb_socket);
  auto s = open_store(url, {3000, 8});
  EXPECT_TRUE(s) << url << ": " << s.error().message;
  return s ? std::move(*s) : nullptr;
}

Event ev(const std::string& kind) { return Event{0, "", kind, "test", "", "", ""}; }

NewAccount user(const std::string& name, const std::string& hash = "$2y$04$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu") {
  NewAccount n;
  n.username = name;
  n.password_hash = hash;
  return n;
}

class StoreSuite : public ::testing::TestWithParam<Kind> {
protected:
  void SetUp() override {
    m_store = make(GetParam());
    ASSERT_TRUE(m_store);
    auto v = m_store->migrate();
    ASSERT_TRUE(v) << v.error().message;
  }
  std::unique_ptr<CredentialStore> m_store;
};

TEST_P(StoreSuite, MigrateIsIdempotent) {
  auto again = m_store->migrate();
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 5);
  EXPECT_EQ(*m_store->check_schema(), 5);
  EXPECT_TRUE(m_store->ping());
}

TEST_P(StoreSuite, CreateAndFind) {
  NewAccount n = user("Alice");
  n.home = "/var/vmail/alice";
  n.uid = 5000;
  n.gid = 5001;
  n.services = {"imap", "smtp", "imap"};
  auto id = m_store->create(n, ev("create"));
  ASSERT_TRUE(id) << id.error().message;
  auto found = m_store->find("alice");
  ASSERT_TRUE(found);
  ASSERT_TRUE(*found);
  const Account& a = **found;
  EXPECT_EQ(a.id, *id);
  EXPECT_EQ(a.username, "alice") << "usernames are lower-cased";
  EXPECT_EQ(a.password_hash, n.password_hash);
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.home, "/var/vmail/alice");
  EXPECT_EQ(a.uid, 5000);
  EXPECT_EQ(a.gid, 5001);
  EXPECT_EQ(a.services, (std::vector<std::string>{"imap", "smtp"}));
  EXPECT_GT(a.created_at, 1700000000);
  EXPECT_FALSE(a.last_login_at);
  EXPECT_TRUE(*m_store->find("ALICE"));
  auto missing = m_store->find("bob");
  ASSERT_TRUE(missing) << "not found is a value, not an error";
  EXPECT_FALSE(*missing);
  auto dup = m_store->create(user("alice"), ev("create"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().kind, ErrorKind::conflict);
}

TEST_P(StoreSuite, GrantsRestrictServices) {
  ASSERT_TRUE(m_store->create(user("carol"), ev("create")));
  auto fresh = **m_store->find("carol");
  EXPECT_TRUE(fresh.all_services);
  EXPECT_TRUE(allowed(fresh, "imap")) << "no --service = every service";
  EXPECT_EQ(m_store->revoke("carol", "imap", ev("revoke")).error().kind, ErrorKind::invalid_input)
      << "an every-service account has no single grant to revoke";
  ASSERT_TRUE(m_store->grant("carol", "imap", ev("grant")));
  ASSERT_TRUE(m_store->grant("carol", "imap", ev("grant"))) << "granting twice is harmless";
  auto a = **m_store->find("carol");
  EXPECT_FALSE(a.all_services) << "the first grant replaces 'every service'";
  EXPECT_EQ(a.services, std::vector<std::string>{"imap"});
  EXPECT_TRUE(allowed(a, "imap"));
  EXPECT_FALSE(allowed(a, "nextcloud"));
  ASSERT_TRUE(m_store->revoke("carol", "imap", ev("revoke")));
  auto none = **m_store->find("carol");
  EXPECT_FALSE(none.all_services) << "revoking the last grant leaves no service, never every service";
  EXPECT_TRUE(none.services.empty());
  EXPECT_FALSE(allowed(none, "imap"));
  EXPECT_FALSE(allowed(none, "nextcloud"));
  EXPECT_EQ(m_store->revoke("carol", "imap", ev("revoke")).error().kind, ErrorKind::not_found);
  EXPECT_EQ(m_store->grant("nobody", "imap", ev("grant")).error().kind, ErrorKind::not_found);
  EXPECT_EQ(m_store->revoke("nobody", "imap", ev("revoke")).error().kind, ErrorKind::not_found);
  EXPECT_EQ(m_store->grant("carol", "IMAP; DROP", ev("grant")).error().kind, ErrorKind::invalid_input);
}

TEST_P(StoreSuite, GrantAllAndRevokeAll) {
  NewAccount n = user("gina");
  n.services = {"imap", "smtp"};
  ASSERT_TRUE(m_store->create(n, ev("create")));
  ASSERT_TRUE(m_store->grant("gina", std::string(k_all_services), ev("grant")));
  auto every = **m_store->find("gina");
  EXPECT_TRUE(every.all_services);
  EXPECT_TRUE(every.services.empty());
  EXPECT_TRUE(allowed(every, "nextcloud"));
  ASSERT_TRUE(m_store->revoke("gina", std::string(k_all_services), ev("revoke")));
  auto closed = **m_store->find("gina");
  EXPECT_FALSE(closed.all_services);
  EXPECT_TRUE(closed.services.empty());
  EXPECT_FALSE(allowed(closed, "imap"));
  ASSERT_TRUE(m_store->grant("gina", "web", ev("grant")));
  EXPECT_EQ((**m_store->find("gina")).services, std::vector<std::string>{"web"});
  NewAccount listed = user("hank");
  listed.services = {"imap", "all"};
  EXPECT_EQ(m_store->create(listed, ev("create")).error().kind, ErrorKind::invalid_input) << "all + imap is ambiguous";
  listed.services = {"all"};
  ASSERT_TRUE(m_store->create(listed, ev("create")));
  EXPECT_TRUE((**m_store->find("hank")).all_services) << "'all' means every service";
  std::map<std::string, Account> seen;
  ASSERT_TRUE(m_store->for_each([&](const Account& a) { seen[a.username] = a; return true; }));
  EXPECT_EQ(seen["gina"].services, std::vector<std::string>{"web"}) << "for_each carries the grants";
  EXPECT_FALSE(seen["gina"].all_services);
  EXPECT_TRUE(seen["hank"].all_services);
}

// One person, one name, on every driver: MariaDB's collation must not make "bob " find bob
// (PAD SPACE) where SQLite would not; NFD finds the NFC account; white space never makes a second.
TEST_P(StoreSuite, NamesHaveOneCanonicalFormOnEveryDriver) {
  ASSERT_TRUE(m_store->create(user("bob"), ev("create")));
  for (const std::string spelling : {" bob", "bob ", "bob\t", "\xc2\xa0" "bob", "bo\xe2\x80\x8b" "b", "bob\xe2\x81\xa6",
                                     "b\xc2\xad" "ob", "bob\xef\xb8\x8f", "\xcc\x81" "bob", "bob\xf3\xa0\x80\x81"}) {
    EXPECT_EQ(m_store->create(user(spelling), ev("create")).error().kind, ErrorKind::invalid_input) << spelling;
    auto found = m_store->find(spelling);
    ASSERT_TRUE(found) << spelling;
    EXPECT_FALSE(*found) << "'" << spelling << "' must not find bob";
  }
  EXPECT_EQ(m_store->create(user("a:b"), ev("create")).error().kind, ErrorKind::invalid_input);
  ASSERT_TRUE(m_store->create(user("jose\xcc\x81"), ev("create"))); // NFD
  auto nfc = m_store->find("jos\xc3\xa9");
  ASSERT_TRUE(nfc && *nfc);
  EXPECT_EQ((**nfc).username, "jos\xc3\xa9") << "stored in NFC";
  EXPECT_EQ(m_store->create(user("JOS\xc3\xa9"), ev("create")).error().kind, ErrorKind::conflict);
}

// Parallel grants and revokes of one account apply one after the other: none is lost, and a
// revoke racing a grant is never undone by it.
TEST_P(StoreSuite, ParallelGrantChangesAreNotLost) {
  NewAccount n = user("rita");
  n.services = {"base"};
  ASSERT_TRUE(m_store->create(n, ev("create")));
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&, i] { EXPECT_TRUE(m_store->grant("rita", "s" + std::to_string(i), ev("grant"))); });
  }
  threads.emplace_back([&] { EXPECT_TRUE(m_store->revoke("rita", "base", ev("revoke"))); });
  for (auto& t : threads) {
    t.join();
  }
  auto a = **m_store->find("rita");
  EXPECT_EQ(a.services.size(), 12U) << "every grant kept, the revoked one gone";
  EXPECT_EQ(std::count(a.services.begin(), a.services.end(), "base"), 0);
}

TEST_P(StoreSuite, DisableEnableDelete) {
  ASSERT_TRUE(m_store->create(user("dave"), ev("create")));
  ASSERT_TRUE(m_store->set_enabled("dave", false, ev("disable")));
  EXPECT_FALSE((**m_store->find("dave")).enabled);
  ASSERT_TRUE(m_store->set_enabled("dave", true, ev("enable")));
  EXPECT_TRUE((**m_store->find("dave")).enabled);
  ASSERT_TRUE(m_store->grant("dave", "web", ev("grant")));
  ASSERT_TRUE(m_store->remove("dave", ev("delete")));
  EXPECT_FALSE(*m_store->find("dave"));
  EXPECT_EQ(m_store->remove("dave", ev("delete")).error().kind, ErrorKind::not_found);
  EXPECT_EQ(m_store->set_enabled("dave", true, ev("enable")).error().kind, ErrorKind::not_found);
  ASSERT_TRUE(m_store->create(user("dave"), ev("create"))) << "the name is free again, grants gone";
  EXPECT_TRUE((**m_store->find("dave")).services.empty());
  EXPECT_TRUE((**m_store->find("dave")).all_services);
}

TEST_P(StoreSuite, CompareAndSwapWinsAndLoses) {
  const std::string old_hash = "5f4dcc3b5aa765d61d8327deb882cf99";
  auto id = m_store->create(user("erin", old_hash), ev("create"));
  ASSERT_TRUE(id);
  Event up{0, "erin", "upgrade", "authd", "plain_md5", "bcrypt", ""};
  std::this_thread::sleep_for(std::chrono::milliseconds(1100)); // a later second than created_at
  auto won = m_store->swap_hash(*id, old_hash, "$2y$04$new1", up);
  ASSERT_TRUE(won);
  EXPECT_TRUE(*won);
  auto lost = m_store->swap_hash(*id, old_hash, "$2y$04$new2", up);
  ASSERT_TRUE(lost) << "a lost race is not an error";
  EXPECT_FALSE(*lost);
  EXPECT_EQ((**m_store->find("erin")).password_hash, "$2y$04$new1");
  EXPECT_EQ((**m_store->find("erin")).password_changed_at, (**m_store->find("erin")).created_at)
      << "a rehash of the same password is not a password change";
  auto events = *m_store->events("erin", 10);
  EXPECT_EQ(std::count_if(events.begin(), events.end(), [](const Event& e) { return e.kind == "upgrade"; }), 1);
}

TEST_P(StoreSuite, AdminPasswordChangeBeatsAConcurrentUpgrade) {
  const std::string old_hash = "5f4dcc3b5aa765d61d8327deb882cf99";
  auto id = m_store->create(user("frank", old_hash), ev("create"));
  ASSERT_TRUE(m_store->set_hash("frank", "$2y$04$admin", ev("password_change")));
  auto won = m_store->swap_hash(*id, old_hash, "$2y$04$login-upgrade", ev("upgrade"));
  ASSERT_TRUE(won);
  EXPECT_FALSE(*won);
  EXPECT_EQ((**m_store->find("frank")).password_hash, "$2y$04$admin");
  EXPECT_EQ(m_store->set_hash("nobody", "x", ev("password_change")).error().kind, ErrorKind::not_found);
}

TEST_P(StoreSuite, ConcurrentSwapsHaveExactlyOneWinner) {
  const std::string old_hash = "5f4dcc3b5aa765d61d8327deb882cf99";
  auto id = m_store->create(user("grace", old_hash), ev("create"));
  ASSERT_TRUE(id);
  std::atomic<int> winners{0}, errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      Event up{0, "grace", "upgrade", "authd", "plain_md5", "bcrypt", ""};
      auto r = m_store->swap_hash(*id, old_hash, "$2y$04$winner" + std::to_string(i), up);
      if (!r) {
        ++errors;
      } else if (*r) {
        ++winners;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(winners.load(), 1);
  EXPECT_TRUE((**m_store->find("grace")).password_hash.starts_with("$2y$04$winner"));
  auto events = *m_store->events("grace", 100);
  EXPECT_EQ(std::count_if(events.begin(), events.end(), [](const Event& e) { return e.kind == "upgrade"; }), 1);
}

TEST_P(StoreSuite, EventsRecordWhoWhatWhenButNoHashes) {
  const std::string hash = "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/";
  auto id = m_store->create(user("heidi", hash), ev("create"));
  ASSERT_TRUE(m_store->swap_hash(*id, hash, "$2y$04$x", Event{0, "heidi", "upgrade", "authd", "md5_crypt", "bcrypt", ""}));
  ASSERT_TRUE(m_store->set_enabled("heidi", false, ev("disable")));
  auto events = m_store->events("heidi", 10);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 3U);
  EXPECT_EQ((*events)[0].kind, "disable") << "newest first";
  EXPECT_EQ((*events)[1].kind, "upgrade");
  EXPECT_EQ((*events)[1].from_scheme, "md5_crypt");
  EXPECT_EQ((*events)[1].to_scheme, "bcrypt");
  EXPECT_EQ((*events)[1].actor, "authd");
  EXPECT_EQ((*events)[2].kind, "create");
  for (const Event& e : *events) {
    EXPECT_EQ(e.username, "heidi");
    EXPECT_GT(e.at, 1700000000);
    for (const std::string* f : {&e.kind, &e.actor, &e.from_scheme, &e.to_scheme, &e.detail}) {
      EXPECT_EQ(f->find('$'), std::string::npos) << "no hash material in events";
    }
  }
}

TEST_P(StoreSuite, IteratesOverManyAccountsInPages) {
  constexpr int k_count = 2500; // more than two pages
  for (int i = 0; i < k_count; ++i) {
    ASSERT_TRUE(m_store->create(user("u" + std::to_string(i)), ev("create")));
  }
  int seen = 0;
  std::int64_t last_id = 0;
  bool ordered = true;
  ASSERT_TRUE(m_store->for_each([&](const Account& a) {
    ordered = ordered && a.id > last_id;
    last_id = a.id;
    ++seen;
    return true;
  }));
  EXPECT_EQ(seen, k_count);
  EXPECT_TRUE(ordered);
  int stopped = 0;
  ASSERT_TRUE(m_store->for_each([&](const Account&) { return ++stopped < 10; }));
  EXPECT_EQ(stopped, 10);
}

TEST_P(StoreSuite, AwkwardUsernamesAreStoredExactly) {
  const std::vector<std::string> names = {"o'brien", "back\\slash", "per%cent", "under_score", "x' or '1'='1",
                                          "\"quoted\"", "jürgen@example.org", "semi;colon", std::string(255, 'z')};
  for (const std::string& n : names) {
    ASSERT_TRUE(m_store->create(user(n), ev("create"))) << n;
  }
  for (const std::string& n : names) {
    auto a = m_store->find(n);
    ASSERT_TRUE(a && *a) << n;
    EXPECT_EQ((**a).username, n);
  }
  EXPECT_FALSE(*m_store->find("per_cent")) << "no LIKE wildcards";
  EXPECT_FALSE(*m_store->find("under%"));
  EXPECT_FALSE(*m_store->find("x"));
  for (const std::string& bad : {std::string("nul\0byte", 8), std::string(256, 'z'), std::string(), std::string("new\nline")}) {
    auto r = m_store->create(user(bad), ev("create"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::invalid_input);
    auto f = m_store->find(bad);
    ASSERT_TRUE(f);
    EXPECT_FALSE(*f);
  }
}

TEST_P(StoreSuite, HashBytesSurviveExactly) {
  const std::string hash = "{PLAIN}p\xc3\xa4ss w\xc3\xb6rd '\"\\";
  ASSERT_TRUE(m_store->create(user("ivan", hash), ev("import")));
  EXPECT_EQ((**m_store->find("ivan")).password_hash, hash);
}

TEST_P(StoreSuite, RecordsLogins) {
  auto id = m_store->create(user("judy"), ev("create"));
  ASSERT_TRUE(m_store->record_login({*id, "imap", "198.51.100.7", 0, 1750000000}, 0));
  auto a = **m_store->find("judy");
  EXPECT_EQ(a.last_login_at, 1750000000);
  EXPECT_EQ(a.last_login_service, "imap");
}

TEST_P(StoreSuite, RecentLoginsAreGroupedLabelledForgottenAndPerAccount) {
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

TEST_P(StoreSuite, FamiliarSourcesAreRememberedForgottenAndDeletedWithTheAccount) {
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
TEST_P(StoreSuite, AppPasswordsAreFoundByVerifierScopedRevocableAndDeletedWithTheAccount) {
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

TEST_P(StoreSuite, ImportInBatchesSkipsUpdatesAndIsAllOrNothing) {
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

std::string kind_name(const ::testing::TestParamInfo<Kind>& info) {
  static const char* const k_names[] = {"memory", "sqlite", "mariadb_tcp", "mariadb_socket"};
  return k_names[static_cast<int>(info.param)];
}

INSTANTIATE_TEST_SUITE_P(Drivers, StoreSuite,
                         ::testing::Values(Kind::memory, Kind::sqlite, Kind::mariadb_tcp, Kind::mariadb_socket),
                         kind_name);

} // namespace
} // namespace authd::store
