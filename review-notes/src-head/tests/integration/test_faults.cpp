// Faults under a running authd on the real MariaDB: a slow (locked) database times out into
// temporary failures without wedging the workers; a SIGKILL in the middle of upgrades leaves
// every account with a valid hash.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "../store/store_fixture.hpp"
#include "authd/policy/hash_policy.hpp"
#include "authd/scheme/create.hpp"
#include "support/daemon.hpp"

namespace authd {
namespace {

const std::string k_md5 = "5f4dcc3b5aa765d61d8327deb882cf99"; // "password"
using Clock = std::chrono::steady_clock;

std::string daemon_config(const std::string& url, int port, int timeout_ms) {
  return "[store]\nurl = \"" + url + "\"\ntimeout_ms = " + std::to_string(timeout_ms) +
         "\n[policy]\nbcrypt_cost = 5\n[http]\nlisten = [\"127.0.0.1:" + std::to_string(port) +
         "\"]\nthreads = 32\n[throttle]\nenabled = false\n";
}

int post(int port, const std::string& user, const std::string& pw) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(30, 0);
  auto r = c.Post("/v1/auth", "{\"username\":\"" + user + "\",\"password\":\"" + pw + "\"}", "application/json");
  return r ? r->status : -1;
}

TEST(Faults, LockedTableTimesOutInto503AndTheWorkersStayFree) {
  const std::string dir = std::string(AUTHD_BIN_DIR) + "/faults-lock-" + test::unique_name("");
  std::filesystem::create_directories(dir);
  const std::string url = test::fresh_mariadb_url(false);
  const std::string db = url.substr(url.rfind('/') + 1);
  auto s = store::open_store(url, {});
  ASSERT_TRUE((*s)->migrate());
  ASSERT_TRUE((*s)->create({"mo", k_md5, true, {}, {}, {}, {}}, {0, "", "create", "t", "", "", ""}));
  const int port = test::test_port(20);
  test::Daemon d(dir, daemon_config(url, port, 1000), port);
  ASSERT_EQ(post(port, "mo", "password"), 200);

  // another session holds a write lock on the accounts table for 6 s
  std::thread locker([&] {
    test::mariadb_script({"sql", "LOCK TABLES " + db + ".accounts WRITE; SELECT SLEEP(6); UNLOCK TABLES;"});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::vector<std::thread> clients;
  std::vector<int> statuses(8);
  std::vector<double> seconds(8);
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      const auto t0 = Clock::now();
      statuses[static_cast<std::size_t>(i)] = post(port, "mo", i % 2 == 0 ? "password" : "wrong");
      seconds[static_cast<std::size_t>(i)] = std::chrono::duration<double>(Clock::now() - t0).count();
    });
  }
  httplib::Client c("127.0.0.1", port);
  auto health = c.Get("/healthz");
  EXPECT_TRUE(health && health->status == 200) << "the workers are not wedged";
  for (auto& t : clients) {
    t.join();
  }
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    EXPECT_EQ(statuses[i], 503) << "request " << i << ": a locked database is a temporary failure";
    EXPECT_LT(seconds[i], 4.0) << "answered within the store timeout (plus connect), not after the lock";
  }
  locker.join();
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    status = post(port, "mo", "password");
    if (status != 200) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_EQ(status, 200) << "back to normal once the lock is gone";
  EXPECT_EQ(d.stop(), 0);
}

TEST(Faults, SigkillDuringUpgradesLeavesEveryHashValid) {
  const std::string dir = std::string(AUTHD_BIN_DIR) + "/faults-kill-" + test::unique_name("");
  std::filesystem::create_directories(dir);
  const std::string url = test::fresh_mariadb_url(false);
  auto s = store::open_store(url, {});
  ASSERT_TRUE((*s)->migrate());
  constexpr int k_users = 120;
  for (int i = 0; i < k_users; ++i) {
    ASSERT_TRUE((*s)->create({"k" + std::to_string(i), k_md5, true, {}, {}, {}, {}}, {0, "", "create", "t", "", "", ""}));
  }
  const int port = test::test_port(21);
  {
    test::Daemon d(dir, daemon_config(url, port, 2000), port);
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t) {
      clients.emplace_back([&, t] {
        for (int i = t; i < k_users && !stop; i += 8) {
          (void)post(port, "k" + std::to_string(i), "password");
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    d.kill_hard(); // SIGKILL in the middle of verifying, rehashing and writing
    stop = true;
    for (auto& t : clients) {
      t.join();
    }
  }
  const policy::HashPolicy policy;
  int upgraded = 0;
  auto ok = (*s)->for_each([&](const store::Account& a) {
    const auto c = policy.classify(a.password_hash);
    EXPECT_NE(c.status, policy::HashStatus::invalid) << a.username << " has no valid hash";
    upgraded += c.scheme == "bcrypt" ? 1 : 0;
    policy::PolicyConfig cheap;
    cheap.bcrypt_cost = 4;
    auto r = policy::HashPolicy(cheap).verify_and_update(SecretString("password"), a.password_hash);
    EXPECT_TRUE(r && r->matched) << a.username << " lost its password";
    return true;
  });
  ASSERT_TRUE(ok);
  EXPECT_GT(upgraded, 0) << "the kill came after some upgrades";
  test::Daemon again(dir, daemon_config(url, port, 2000), port);
  EXPECT_EQ(post(port, "k" + std::to_string(k_users - 1), "password"), 200) << "authd starts again on that database";
  EXPECT_EQ(again.stop(), 0);
}

long rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

// A bounded soak: good, wrong, unknown and legacy logins from several "IPs" with throttling on,
// for 12 s. Only 200/401/429 may come back, authd never dies, and its memory stays flat.
TEST(Faults, SustainedMixedLoadStaysCorrectAndFlat) {
  const std::string dir = std::string(AUTHD_BIN_DIR) + "/faults-soak-" + test::unique_name("");
  std::filesystem::create_directories(dir);
  const std::string url = "sqlite://" + dir + "/authd.db";
  auto s = store::open_store(url, {});
  ASSERT_TRUE((*s)->migrate());
  const std::string bcrypt = *scheme::bcrypt_hash(SecretString("password"), 5);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE((*s)->create({"good" + std::to_string(i), bcrypt, true, {}, {}, {}, {}}, {0, "", "create", "t", "", "", ""}));
    ASSERT_TRUE((*s)->create({"old" + std::to_string(i), k_md5, true, {}, {}, {}, {}}, {0, "", "create", "t", "", "", ""}));
  }
  const int port = test::test_port(22);
  test::Daemon d(dir, "[store]\nurl = \"" + url + "\"\n[policy]\nbcrypt_cost = 5\n[http]\nlisten = [\"127.0.0.1:" +
                          std::to_string(port) + "\"]\n[throttle]\ninitial_ms = 200\nmax_ms = 1000\n", port);
  ASSERT_TRUE(d.running());
  std::atomic<bool> stop{false};
  std::atomic<long> ok{0}, rejected{0}, throttled{0}, unexpected{0};
  long rss_start = 0;
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(30, 0);
      for (long i = 0; !stop; ++i) {
        const int kind = static_cast<int>((i + t) % 4);
        const std::string user = kind == 0 ? "good" + std::to_string(i % 20) : kind == 1 ? "old" + std::to_string(i % 20)
                               : kind == 2 ? "good" + std::to_string(i % 20) : "nobody" + std::to_string(i);
        const std::string pw = kind < 2 ? "password" : "wrong";
        const std::string ip = kind < 2 ? "192.0.2." + std::to_string(t) : "198.51.100." + std::to_string(t);
        auto r = c.Post("/v1/auth", "{\"username\":\"" + user + "\",\"password\":\"" + pw + "\",\"remote_ip\":\"" + ip + "\"}",
                        "application/json");
        const int st = r ? r->status : -1;
        ++(st == 200 ? ok : st == 401 ? rejected : st == 429 ? throttled : unexpected);
        if (st == 200 && kind > 1) {
          ++unexpected; // a wrong password or an unknown user let in
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  rss_start = rss_kb(d.pid());
  std::this_thread::sleep_for(std::chrono::seconds(10));
  const long rss_end = rss_kb(d.pid());
  stop = true;
  for (auto& t : clients) {
    t.join();
  }
  EXPECT_TRUE(d.running()) << "authd survived";
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GT(ok.load(), 50);
  EXPECT_GT(rejected.load() + throttled.load(), 50);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // sanitizer builds hold freed memory in quarantine (up to 256 MB): RSS says nothing there
  (void)rss_start;
  (void)rss_end;
#else
  EXPECT_LT(rss_end - rss_start, 8 * 1024) << "memory flat: " << rss_start << " kB -> " << rss_end << " kB";
#endif
  EXPECT_EQ(d.stop(), 0);
}

} // namespace
} // namespace authd
