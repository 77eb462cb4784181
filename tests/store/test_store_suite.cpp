// One suite, every driver: the same behaviour on SQLite, on a real MariaDB (TCP and socket) and
// on the in-memory fake the core tests use. Accounts, names, grants, the compare-and-swap, events,
// iteration; logins, familiar sources, app passwords and imports: test_store_activity.cpp.
#include <algorithm>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "store_suite.hpp"

namespace authd::store {
namespace {

using namespace suite;

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


AUTHD_STORE_SUITE_ON_EVERY_DRIVER(StoreSuite);

} // namespace
} // namespace authd::store
