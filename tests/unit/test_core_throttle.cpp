// The throttle: per-source delays that double to a cap and never lock out, per-account free
// failures, familiar sources a stranger cannot spoil, the verify lanes it picks, bounded tables.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core_fixture.hpp"

namespace authd::core {
namespace {

using store::Event;

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

// The attack review timed a real account and a made-up name alternately (each guess from a new
// address): the real one seemed held, the made-up one not. The wait follows the order of the
// attempts, not whether the account exists: both build the same penalty and wait the same.
TEST_F(Core, AMadeUpNameEarnsTheSamePenaltyAsARealAccount) {
  m_config.throttle.initial_ms = 5000;
  m_config.throttle.max_ms = 20000;
  rebuild();
  add("alice", k_md5);
  std::vector<std::pair<AuthStatus, long long>> seen[2];
  const std::string names[2] = {"alice", "nosuchuser"};
  for (int i = 0; i < 7; ++i) {
    for (int n = 0; n < 2; ++n) {
      const auto r = login(names[n], "guess" + std::to_string(i), "imap", "203.0.113." + std::to_string(10 * n + i + 1));
      seen[n].emplace_back(r.status, (r.retry_after.count() + 500) / 1000); // to the second: the same wait
    }
  }
  EXPECT_EQ(seen[0], seen[1]) << "the same answers and the same waits for a real account and a made-up name";
  EXPECT_EQ(seen[0].back().first, AuthStatus::throttled) << "past the free failures both wait";
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

TEST_F(Core, LanesFollowTheThrottleState) {
  add("bob", k_md5);
  EXPECT_EQ(m_service->lane("bob", "192.0.2.5"), Lane::priority);
  EXPECT_EQ(m_service->lane("nobody", "192.0.2.5"), Lane::priority) << "unknown names look the same";
  login("bob", "wrong", "imap", "192.0.2.5");
  EXPECT_EQ(m_service->lane("bob", "192.0.2.5"), Lane::suspect);
  EXPECT_EQ(m_service->lane("bob", "192.0.2.6"), Lane::priority);
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
