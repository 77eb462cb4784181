// Faults under a running authd on the real MariaDB: a slow (locked) database times out into
// temporary failures without wedging the workers; a SIGKILL in the middle of upgrades leaves
// every account with a valid hash.
#include <chrono>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "../store/store_fixture.hpp"
#include "authd/policy/hash_policy.hpp"
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

} // namespace
} // namespace authd
