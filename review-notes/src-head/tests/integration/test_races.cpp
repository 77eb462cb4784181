// Races against a real authd: 64 concurrent logins of one legacy account over HTTP and through
// authd-checkpassword write exactly one upgrade; an administrator's password change racing the
// logins always wins. On SQLite and on the real MariaDB.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "../store/store_fixture.hpp"
#include "authd/policy/hash_policy.hpp"
#include "support/daemon.hpp"

namespace authd {
namespace {

const std::string k_md5 = "5f4dcc3b5aa765d61d8327deb882cf99"; // "password"

class Races : public ::testing::TestWithParam<bool> {
protected:
  void SetUp() override {
    m_dir = std::string(AUTHD_BIN_DIR) + "/races-" + test::unique_name("");
    std::filesystem::create_directories(m_dir);
    m_url = GetParam() ? test::fresh_mariadb_url(false) : "sqlite://" + m_dir + "/authd.db";
    m_store = std::move(*store::open_store(m_url, {3000, 2}));
    ASSERT_TRUE(m_store->migrate());
    ASSERT_TRUE(m_store->create({"racer", k_md5, true, {}, {}, {}, {}}, {0, "", "create", "t", "", "", ""}));
    m_port = test::test_port(GetParam() ? 11 : 10);
    m_socket = m_dir + "/authd.sock";
    m_daemon = std::make_unique<test::Daemon>(
        m_dir,
        "[store]\nurl = \"" + m_url + "\"\n[policy]\nbcrypt_cost = 5\n[http]\nlisten = [\"127.0.0.1:" +
            std::to_string(m_port) + "\", \"unix:" + m_socket + "\"]\nthreads = 80\n[core]\nqueue_size = 200\n"
            "[throttle]\nenabled = false\n",
        m_port);
    ASSERT_TRUE(m_daemon->running()) << m_daemon->log();
    std::ofstream(m_dir + "/fd3") << std::string("racer\0password\0\0", 17);
  }
  void TearDown() override { EXPECT_EQ(m_daemon->stop(), 0); }

  int http_login(const std::string& password) {
    httplib::Client c("127.0.0.1", m_port);
    c.set_read_timeout(30, 0);
    auto r = c.Post("/v1/auth", "{\"username\":\"racer\",\"password\":\"" + password + "\"}", "application/json");
    return r ? r->status : -1;
  }
  int checkpassword_login() {
    return test::run_process({"/bin/sh", "-c", test::bin("authd-checkpassword") + " --socket " + m_socket + " /bin/true 3<" + m_dir + "/fd3"}).exit_code;
  }
  long upgrade_events() {
    auto ev = m_store->events("racer", 1000);
    return std::count_if(ev->begin(), ev->end(), [](const store::Event& e) { return e.kind == "upgrade"; });
  }
  bool verifies(const std::string& password) {
    const policy::HashPolicy p;
    auto r = p.verify_and_update(SecretString(password), (**m_store->find("racer")).password_hash);
    return r && r->matched;
  }

  std::string m_dir, m_url, m_socket;
  int m_port = 0;
  std::unique_ptr<store::CredentialStore> m_store;
  std::unique_ptr<test::Daemon> m_daemon;
};

TEST_P(Races, SixtyFourConcurrentLegacyLoginsUpgradeExactlyOnce) {
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&, i] {
      const bool success = i % 4 == 0 ? checkpassword_login() == 0 : http_login("password") == 200;
      ++(success ? ok : bad);
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(ok.load(), 64);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(upgrade_events(), 1);
  const std::string stored = (**m_store->find("racer")).password_hash;
  EXPECT_TRUE(stored.starts_with("$2y$05$")) << stored;
  EXPECT_TRUE(verifies("password"));
}

TEST_P(Races, AnAdministratorsPasswordChangeWinsOverRacingLogins) {
  std::atomic<bool> changed{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&] { (void)http_login("password"); });
  }
  threads.emplace_back([&] {
    auto r = test::run_process({test::bin("authctl"), "--store", m_url, "user", "passwd", "racer"}, "admin-set-pw\n",
                               {"AUTHD_CONFIG=/nonexistent"});
    changed = r.exit_code == 0;
  });
  for (auto& t : threads) {
    t.join();
  }
  ASSERT_TRUE(changed.load());
  EXPECT_TRUE(verifies("admin-set-pw")) << "the admin's password is the one stored";
  EXPECT_FALSE(verifies("password"));
  EXPECT_EQ(http_login("admin-set-pw"), 200);
  EXPECT_EQ(http_login("password"), 401);
  EXPECT_LE(upgrade_events(), 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, Races, ::testing::Values(false, true),
                         [](const auto& info) { return std::string(info.param ? "mariadb" : "sqlite"); });

} // namespace
} // namespace authd
