// The core against the in-memory store: every outcome, the upgrade and its races, timing
// equalisation (a verify runs for unknown users), throttling, the bounded pool, the cache.
#include <atomic>
#include <future>
#include <latch>
#include <thread>

#include <gtest/gtest.h>

#include "authd/core/auth_service.hpp"

namespace authd::core {
namespace {

using store::Event;

const std::string k_md5 = "5f4dcc3b5aa765d61d8327deb882cf99"; // "password"

// Delegates to the memory store; can fail every call, or change the hash right before a swap.
class TestStore : public store::CredentialStore {
public:
  std::unique_ptr<store::CredentialStore> inner = store::make_memory_store();
  bool failing = false;
  std::function<void()> before_swap;

  Result<int> migrate() override { return inner->migrate(); }
  Result<int> check_schema() override { return inner->check_schema(); }
  Status ping() override { return failing ? fail(ErrorKind::temporary, "down") : inner->ping(); }
  Result<std::optional<store::Account>> find(std::string_view u) override {
    if (failing) {
      return fail(ErrorKind::temporary, "store down");
    }
    return inner->find(u);
  }
  Result<std::int64_t> create(const store::NewAccount& a, const Event& e) override { return inner->create(a, e); }
  Result<bool> swap_hash(std::int64_t id, std::string_view x, std::string_view n, const Event& e) override {
    if (before_swap) {
      before_swap();
    }
    if (failing) {
      return fail(ErrorKind::temporary, "store down");
    }
    return inner->swap_hash(id, x, n, e);
  }
  Status set_hash(std::string_view u, std::string_view h, const Event& e) override { return inner->set_hash(u, h, e); }
  Status set_enabled(std::string_view u, bool on, const Event& e) override { return inner->set_enabled(u, on, e); }
  Status remove(std::string_view u, const Event& e) override { return inner->remove(u, e); }
  Status grant(std::string_view u, std::string_view s, const Event& e) override { return inner->grant(u, s, e); }
  Status revoke(std::string_view u, std::string_view s, const Event& e) override { return inner->revoke(u, s, e); }
  Status record_login(const store::Login& l, std::int64_t forget_before) override { return inner->record_login(l, forget_before); }
  Result<std::vector<store::RecentLogin>> recent_logins(std::string_view u, std::size_t limit) override {
    return inner->recent_logins(u, limit);
  }
  Status remember_source(std::int64_t id, std::string_view s, std::int64_t at, std::int64_t before) override {
    return inner->remember_source(id, s, at, before);
  }
  Result<bool> familiar(std::int64_t id, std::string_view s, std::int64_t since) override {
    if (failing) {
      return fail(ErrorKind::temporary, "store down");
    }
    return inner->familiar(id, s, since);
  }
  Status for_each(const std::function<bool(const store::Account&)>& v) override { return inner->for_each(v); }
  Result<std::int64_t> add_app_password(std::string_view u, const store::NewAppPassword& a, const Event& e) override {
    return inner->add_app_password(u, a, e);
  }
  Result<std::vector<store::AppPassword>> app_passwords(std::string_view u) override { return inner->app_passwords(u); }
  Status revoke_app_password(std::string_view u, std::int64_t id, const Event& e) override {
    return inner->revoke_app_password(u, id, e);
  }
  Result<std::optional<store::AppPassword>> find_app_password(std::int64_t id, std::string_view v) override {
    if (failing) {
      return fail(ErrorKind::temporary, "store down");
    }
    return inner->find_app_password(id, v);
  }
  Status app_password_used(std::int64_t id, std::string_view s, std::string_view ip, std::int64_t at) override {
    return inner->app_password_used(id, s, ip, at);
  }
  Status set_main_password_services(std::string_view u, const std::optional<std::vector<std::string>>& s,
                                    const Event& e) override {
    return inner->set_main_password_services(u, s, e);
  }
  Result<std::vector<Event>> events(std::string_view u, std::size_t n) override { return inner->events(u, n); }
  Status import(const std::function<bool(store::ImportRecord&)>& next, bool update, const std::string& actor,
                const std::function<void(const store::ImportRecord&, store::ImportOutcome)>& done) override {
    return inner->import(next, update, actor, done);
  }
};

config::Config test_config() {
  config::Config c;
  c.policy.bcrypt_cost = 4;
  c.core.verify_threads = 2;
  c.throttle.initial_ms = 100;
  c.throttle.max_ms = 400;
  c.throttle.account_free_failures = 3;
  return c;
}

class Core : public ::testing::Test {
protected:
  void SetUp() override { rebuild(); }
  void rebuild() {
    m_service.reset();
    m_policy = std::make_unique<policy::HashPolicy>(m_config.policy);
    m_service = std::make_unique<AuthService>(m_store, *m_policy, m_config, m_metrics);
  }
  void add(const std::string& user, const std::string& hash, std::vector<std::string> services = {}, bool enabled = true) {
    store::NewAccount n;
    n.username = user;
    n.password_hash = hash;
    n.services = std::move(services);
    n.enabled = enabled;
    ASSERT_TRUE(m_store.create(n, Event{0, "", "create", "test", "", "", ""}));
  }
  AuthResult login(const std::string& user, const std::string& pw, const std::string& service = "imap",
                   const std::string& ip = "192.0.2.1") {
    const SecretString secret(pw);
    return m_service->authenticate({user, secret, service, ip});
  }
  std::string stored(const std::string& user) { return (**m_store.find(user)).password_hash; }

  config::Config m_config = test_config();
  TestStore m_store;
  Metrics m_metrics;
  std::unique_ptr<policy::HashPolicy> m_policy;
  std::unique_ptr<AuthService> m_service;
};

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

TEST_F(Core, ThrottleGrowsPerIpAndResetsOnSuccess) {
  m_config.throttle.initial_ms = 800; // wide enough that a slow (sanitizer) build stays inside it
  rebuild();
  add("kim", k_md5);
  EXPECT_EQ(login("kim", "wrong").status, AuthStatus::rejected);
  auto t = login("kim", "password");
  EXPECT_EQ(t.status, AuthStatus::throttled) << "inside the penalty window, even the right password waits";
  EXPECT_GT(t.retry_after.count(), 0);
  EXPECT_EQ(login("kim", "password", "imap", "198.51.100.7").status, AuthStatus::ok) << "another IP is not slowed";
  std::this_thread::sleep_for(std::chrono::milliseconds(850));
  EXPECT_EQ(login("kim", "password").status, AuthStatus::ok);
  EXPECT_EQ(login("kim", "wrong").status, AuthStatus::rejected) << "success reset the counter: one failure, no wait";
}

namespace {
long long ms(std::chrono::milliseconds d) { return d.count(); }
} // namespace

TEST(Throttle, SourceDelayDoublesUpToTheCapAndNeverLocksOut) {
  Throttle t(config::ThrottleConfig{true, 2000, 15000, 2});
  const auto t0 = Throttle::Clock::now();
  std::vector<long long> waits;
  for (int i = 0; i < 6; ++i) {
    t.failure("192.0.2.9", "u" + std::to_string(i), static_cast<std::uint64_t>(i + 1), t0);
    waits.push_back(ms(t.admit_source("192.0.2.9", t0)));
  }
  EXPECT_EQ(waits, (std::vector<long long>{2000, 4000, 8000, 15000, 15000, 15000}));
  EXPECT_EQ(ms(t.admit_source("192.0.2.9", t0 + std::chrono::seconds(16))), 0) << "a delay, never a lock-out";
  EXPECT_EQ(ms(t.admit_source("192.0.2.10", t0)), 0) << "another source is not slowed";
  EXPECT_EQ(ms(t.admit_source("", t0)), 0) << "an unknown source has no penalty";
}

TEST(Throttle, ParallelAttemptsOfOneSourceGetOneAttemptPerWindow) {
  Throttle t(config::ThrottleConfig{true, 2000, 15000, 5});
  const auto t0 = Throttle::Clock::now();
  t.failure("192.0.2.9", "bob", 1, t0);
  const auto later = t0 + std::chrono::milliseconds(2500); // the window is over
  EXPECT_EQ(ms(t.admit_source("192.0.2.9", later)), 0) << "the first of 64 held connections goes ahead";
  EXPECT_EQ(ms(t.admit_source("192.0.2.9", later)), 2000) << "the others wait a full delay again";
  EXPECT_EQ(ms(t.admit_source("192.0.2.9", later + std::chrono::seconds(1))), 1000);
  t.success("192.0.2.9", "bob");
  EXPECT_EQ(ms(t.admit_source("192.0.2.9", later)), 0) << "a success clears the source";
  EXPECT_EQ(ms(t.admit_source("192.0.2.9", later)), 0);
}

TEST(Throttle, TheSameWrongPairAgainDoesNotEscalate) {
  Throttle t(config::ThrottleConfig{true, 2000, 15000, 5});
  const auto t0 = Throttle::Clock::now();
  const SecretString old_pw("the old password");
  const auto pair = t.pair_hash("alice", old_pw);
  EXPECT_NE(pair, t.pair_hash("alice", SecretString("another")));
  EXPECT_NE(pair, t.pair_hash("alicf", old_pw));
  for (int i = 0; i < 5; ++i) { // a phone retrying the old password after a change
    t.failure("192.0.2.9", "alice", pair, t0 + std::chrono::seconds(3 * i));
  }
  EXPECT_EQ(ms(t.admit_source("192.0.2.9", t0 + std::chrono::seconds(12))), 2000) << "re-armed, not lengthened";
  EXPECT_EQ(ms(t.admit_account("alice", t0 + std::chrono::seconds(12))), 0) << "one counted failure for the account";
}

TEST(Throttle, AccountsGetFreeFailuresAndFamiliarSourcesAreRemembered) {
  Throttle t(config::ThrottleConfig{true, 2000, 15000, 2});
  const auto t0 = Throttle::Clock::now();
  t.failure("203.0.113.1", "victim", 1, t0);
  t.failure("203.0.113.2", "victim", 2, t0);
  EXPECT_EQ(ms(t.admit_account("victim", t0)), 0) << "two free failures per account";
  t.failure("203.0.113.3", "victim", 3, t0);
  EXPECT_EQ(ms(t.admit_account("victim", t0)), 2000);
  EXPECT_TRUE(t.suspect("198.51.100.7", "victim")) << "the account is under attack; this source is not known";
  t.success("198.51.100.7", "victim");
  EXPECT_TRUE(t.known_familiar("victim", "198.51.100.7"));
  EXPECT_FALSE(t.suspect("198.51.100.7", "victim")) << "the owner's own source goes in the priority lane";
  EXPECT_EQ(ms(t.admit_account("victim", t0)), 2000) << "success does not forgive the stranger's failures";
  EXPECT_EQ(ms(t.admit_source("203.0.113.3", t0)), 2000);
}

TEST(Throttle, SourcesAreIpv4AddressesAndIpv6Slash64s) {
  EXPECT_EQ(Throttle::source_of("198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(Throttle::source_of("::ffff:198.51.100.7"), "198.51.100.7");
  EXPECT_EQ(Throttle::source_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(Throttle::source_of("2001:db8:1:2:bbbb::9"), Throttle::source_of("2001:db8:1:2::1"));
  EXPECT_EQ(Throttle::source_of(""), "");
  EXPECT_EQ(Throttle::source_of("not-an-ip"), "");
}

TEST(Throttle, AFloodOfSourcesEvictsTheOldestFirstAndStaysBounded) {
  config::ThrottleConfig c{true, 2000, 15000, 5};
  c.max_entries = 100;
  Throttle t(c);
  const auto t0 = Throttle::Clock::now();
  t.failure("192.0.2.1", "", 1, t0);
  for (int i = 0; i < 1000; ++i) {
    t.failure("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), "", 1, t0);
    if (i % 10 == 0) {
      t.failure("192.0.2.1", "", static_cast<std::uint64_t>(i + 2), t0); // kept in use: never the oldest
    }
  }
  EXPECT_LE(t.tracked(), 100u);
  EXPECT_GT(ms(t.admit_source("192.0.2.1", t0)), 0) << "a penalty in use survives the flood";
  EXPECT_GT(ms(t.admit_source("10.0.3.231", t0)), 0) << "the newest sources are kept";
  EXPECT_EQ(ms(t.admit_source("10.0.0.1", t0)), 0) << "the oldest went first";
}

TEST_F(Core, AStrangerCannotKeepTheOwnerOutOfHerFamiliarSource) {
  m_config.throttle.initial_ms = 5000;
  m_config.throttle.max_ms = 20000;
  rebuild();
  add("alice", k_md5);
  ASSERT_EQ(login("alice", "password", "imap", "198.51.100.7").status, AuthStatus::ok);
  for (int i = 0; i < 6; ++i) {
    login("alice", "guess" + std::to_string(i), "imap", "203.0.113." + std::to_string(i + 1));
  }
  EXPECT_EQ(login("alice", "guess", "imap", "203.0.113.99").status, AuthStatus::throttled) << "a new stranger waits";
  EXPECT_EQ(login("alice", "password", "imap", "198.51.100.7").status, AuthStatus::ok) << "her address is familiar";
  rebuild(); // a restart (or another authd on the same database): the store remembers
  for (int i = 0; i < 6; ++i) {
    login("alice", "guess" + std::to_string(i), "imap", "203.0.113." + std::to_string(i + 1));
  }
  EXPECT_EQ(login("alice", "password", "imap", "198.51.100.7").status, AuthStatus::ok);
  EXPECT_EQ(login("alice", "password", "imap", "192.0.2.200").status, AuthStatus::throttled)
      << "an unfamiliar source is slowed by the account's penalty";
}

TEST_F(Core, AFamiliarSourceIsHeldNotRefusedWhenItsNeighboursMistype) {
  m_config.throttle.initial_ms = 300;
  m_config.throttle.max_ms = 20000;
  rebuild();
  add("alice", k_md5);
  ASSERT_EQ(login("alice", "password", "imap", "198.51.100.7").status, AuthStatus::ok);
  for (int i = 0; i < 5; ++i) { // a sprayer behind the same NAT escalates the address to 4.8 s
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    login("made-up" + std::to_string(i), "x", "imap", "198.51.100.7");
    std::this_thread::sleep_for(std::chrono::milliseconds(1)); // (the throttled ones are not counted)
  }
  const auto t = login("alice", "password", "imap", "198.51.100.7");
  ASSERT_EQ(t.status, AuthStatus::throttled);
  EXPECT_LE(t.retry_after.count(), 300) << "for alice the address's wait is capped at initial_ms";
  std::this_thread::sleep_for(std::chrono::milliseconds(320));
  EXPECT_EQ(login("alice", "password", "imap", "198.51.100.7").status, AuthStatus::ok);
}

TEST_F(Core, LoginsWithoutAnAddressAreFamiliarToo) {
  m_config.throttle.initial_ms = 5000;
  rebuild();
  add("alice", k_md5);
  ASSERT_EQ(login("alice", "password", "nextcloud", "").status, AuthStatus::ok); // Nextcloud relays no address
  for (int i = 0; i < 6; ++i) {
    login("alice", "guess" + std::to_string(i), "imap", "203.0.113." + std::to_string(i + 1));
  }
  EXPECT_EQ(login("alice", "password", "nextcloud", "").status, AuthStatus::ok) << "her Nextcloud logins go on";
  rebuild();
  for (int i = 0; i < 6; ++i) {
    login("alice", "guess" + std::to_string(i), "imap", "203.0.113." + std::to_string(i + 1));
  }
  EXPECT_EQ(login("alice", "password", "nextcloud", "").status, AuthStatus::ok) << "and after a restart";
}

TEST(Metrics, ClientChosenLabelsCannotGrowItWithoutBound) {
  Metrics m;
  for (int i = 0; i < 5000; ++i) {
    m.add("authd_logins_total", {{"service", "svc" + std::to_string(i)}, {"outcome", "rejected"}});
  }
  EXPECT_EQ(m.value("authd_logins_total", {{"service", "svc1"}, {"outcome", "rejected"}}), 1);
  const std::string text = m.render();
  EXPECT_LT(text.size(), 200000u);
  EXPECT_NE(text.find("authd_logins_total{overflow=\"true\"} 4000"), std::string::npos);
}

TEST_F(Core, LanesFollowTheThrottleState) {
  add("bob", k_md5);
  EXPECT_EQ(m_service->lane("bob", "192.0.2.5"), Lane::priority);
  EXPECT_EQ(m_service->lane("nobody", "192.0.2.5"), Lane::priority) << "unknown names look the same";
  login("bob", "wrong", "imap", "192.0.2.5");
  EXPECT_EQ(m_service->lane("bob", "192.0.2.5"), Lane::suspect);
  EXPECT_EQ(m_service->lane("bob", "192.0.2.6"), Lane::priority);
}

TEST(LanedExecutor, PriorityFirstAndSuspectsCannotTakeEveryThread) {
  LanedExecutor exec(2, 8, 1);
  std::latch release(1);
  std::atomic<int> suspects_running{0}, peak{0};
  std::atomic<int> done{0};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(exec.submit(Lane::suspect, [&] {
      peak = std::max(peak.load(), ++suspects_running);
      release.wait();
      --suspects_running;
      ++done;
    }));
  }
  std::latch ran(1);
  ASSERT_TRUE(exec.submit(Lane::priority, [&] { ran.count_down(); }));
  ran.wait(); // the reserved thread serves the priority lane while suspects block the other
  EXPECT_EQ(peak.load(), 1);
  release.count_down();
  while (done < 4) {
    std::this_thread::yield();
  }
  int refused = 0;
  for (int i = 0; i < 12; ++i) { // one thread for suspects, 8 places: some of 12 slow jobs are refused
    refused += exec.submit(Lane::suspect, [] { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }) ? 0 : 1;
  }
  EXPECT_GT(refused, 0) << "a full suspect lane refuses";
  EXPECT_TRUE(exec.submit(Lane::priority, [] {})) << "while the priority lane still takes work";
}

TEST(VerifyPool, FullQueueFailsFastWithATemporaryError) {
  VerifyPool pool(1, 1);
  std::latch release(1);
  std::latch started(1);
  auto busy = std::async(std::launch::async, [&] {
    return pool.run([&] {
      started.count_down();
      release.wait();
    });
  });
  started.wait(); // the only thread is busy
  auto queued = std::async(std::launch::async, [&] { return pool.run([] {}); });
  while (pool.queued() < 1) {
    std::this_thread::yield();
  }
  auto refused = pool.run([] {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::temporary);
  release.count_down();
  EXPECT_TRUE(busy.get());
  EXPECT_TRUE(queued.get());
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

} // namespace
} // namespace authd::core

namespace authd::core {
namespace {
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

TEST(Throttle, ReconfigureKeepsPenaltiesAndShrinksTheTable) {
  config::ThrottleConfig c;
  c.max_entries = 1000;
  Throttle t(c);
  const auto now = Throttle::Clock::now();
  for (int i = 0; i < 500; ++i) {
    t.failure("192.0.2." + std::to_string(i % 250), "u" + std::to_string(i), 0, now);
  }
  t.failure("198.51.100.9", "", 0, now);
  c.max_entries = 100;
  t.reconfigure(c);
  EXPECT_LE(t.tracked(), 100u);
  EXPECT_GT(t.admit_source("198.51.100.9", now).count(), 0) << "the most recent penalty stays";
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
