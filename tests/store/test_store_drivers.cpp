// Driver-specific behaviour: URLs, unreachable databases, schema versions, a MariaDB restart.
#include <algorithm>
#include <chrono>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "store_fixture.hpp"

namespace authd::store {
namespace {

Event ev(const std::string& kind) { return Event{0, "", kind, "test", "", "", ""}; }

TEST(StoreUrl, BadUrlsAreClearErrors) {
  for (const std::string url : {"postgres://x", "sqlite:", "mariadb://nohost", "mariadb://u:p@h:99999/db",
                                "mariadb://u:p@h:port/db", "mariadb://u:p@/db", "mariadb://u:p@h/",
                                "mariadb://u:p@h/db?charset=latin1", "mariadb://u:p@[::1/db",
                                "mariadb://u:p@h1,,h3/db", "mariadb://u:p@h1,h2:0/db", "mariadb://u:p@h1,/db",
                                "mariadb://u:p@[::1]x/db", "mariadb://u:p@h1,h2/db?socket=/run/mysqld/mysqld.sock",
                                "mariadb://u:p@h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h/db", "mariadb://u:p@::1/db",
                                "mariadb://u:p@fe80::1:3306/db", "mariadb://u:p@db1:3306,db1:3306/db",
                                "mariadb://u:p@db1,db1:3306/db"}) {
    auto s = open_store(url, {});
    ASSERT_FALSE(s) << url;
    EXPECT_EQ(s.error().kind, ErrorKind::invalid_input) << url;
    EXPECT_EQ(s.error().message.find(":p@"), std::string::npos) << "no password in the message";
  }
  EXPECT_TRUE(open_store("mariadb://u:p%40ss@[::1]:3306/db", {}));
  EXPECT_TRUE(open_store("mariadb://u:p@localhost/db?socket=/run/mysqld/mysqld.sock", {}));
  EXPECT_TRUE(open_store("sqlite:relative.db", {}));
  EXPECT_TRUE(open_store("mariadb://u:p@db1:3306,db2,[::1]:3307/db", {}));
}

TEST(SqliteDriver, AMissingDirectoryIsRefusedAtOpenNotA503Forever) {
  auto s = open_store("sqlite:///nonexistent-dir/authd.db", {500, 1});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind, ErrorKind::invalid_input);
  EXPECT_NE(s.error().message.find("/nonexistent-dir does not exist"), std::string::npos) << s.error().message;
}

TEST(SqliteDriver, UnreachableFileIsATemporaryFailureNotNotFound) {
  auto s = open_store("sqlite:///proc/authd-cannot-be-created.db", {500, 1}); // the directory exists
  ASSERT_TRUE(s);
  auto found = (*s)->find("alice");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().kind, ErrorKind::temporary);
}

TEST(SqliteDriver, SecondStoreOnTheSameFileSeesWrites) {
  const std::string url = test::fresh_sqlite_url();
  auto daemon = open_store(url, {2000, 4});
  auto cli = open_store(url, {2000, 1});
  ASSERT_TRUE((*daemon)->migrate());
  ASSERT_TRUE((*cli)->migrate());
  ASSERT_TRUE((*cli)->create({"zoe", "{PLAIN}x", true, {}, {}, {}, {}}, ev("create")));
  EXPECT_TRUE(*(*daemon)->find("zoe"));
}

TEST(SqliteDriver, NewerSchemaIsRefused) {
  const std::string url = test::fresh_sqlite_url();
  auto s = open_store(url, {});
  ASSERT_TRUE((*s)->migrate());
  auto r = test::run_process({"/usr/bin/sqlite3", url.substr(9), "INSERT INTO schema_version VALUES (99)"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto m = (*s)->migrate();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind, ErrorKind::permanent);
  EXPECT_NE(m.error().message.find("newer"), std::string::npos);
  EXPECT_EQ((*s)->check_schema().error().kind, ErrorKind::permanent);
}

TEST(SqliteDriver, UnmigratedDatabaseAsksForMigrate) {
  auto s = open_store(test::fresh_sqlite_url(), {});
  auto v = (*s)->check_schema();
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("authctl db migrate"), std::string::npos);
}

TEST(MariadbDriver, UnreachableServerIsATemporaryFailure) {
  auto s = open_store("mariadb://authd:authdpw@127.0.0.1:1/authd", {1000, 1});
  ASSERT_TRUE(s);
  auto found = (*s)->find("alice");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().kind, ErrorKind::temporary);
  EXPECT_EQ(found.error().message.find("authdpw"), std::string::npos);
}

TEST(MariadbDriver, NewerSchemaIsRefused) {
  const std::string url = test::fresh_mariadb_url(false);
  auto s = open_store(url, {});
  ASSERT_TRUE((*s)->migrate());
  const std::string db = url.substr(url.rfind('/') + 1);
  ASSERT_EQ(test::mariadb_script({"sql", "INSERT INTO " + db + ".schema_version VALUES (99)"}).exit_code, 0);
  auto m = (*s)->migrate();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind, ErrorKind::permanent);
}

// authctl audit needs nothing but SELECT: an operator can run it with a read-only account.
TEST(MariadbDriver, AuditWorksWithAReadOnlyAccount) {
  const std::string url = test::fresh_mariadb_url(false);
  const std::string db = url.substr(url.rfind('/') + 1);
  auto s = open_store(url, {});
  ASSERT_TRUE((*s)->migrate());
  ASSERT_TRUE((*s)->create({"lena", "5f4dcc3b5aa765d61d8327deb882cf99", true, {}, {}, {}, {}}, ev("create")));
  ASSERT_EQ(test::mariadb_script({"sql", "CREATE USER IF NOT EXISTS 'auditor'@'127.0.0.1' IDENTIFIED BY 'ropw';"
                                         "GRANT SELECT ON " + db + ".* TO 'auditor'@'127.0.0.1'"}).exit_code, 0);
  const std::string ro = "mariadb://auditor:ropw@127.0.0.1:" + test::mdb_port() + "/" + db;
  auto audit = test::run_process({test::bin("authctl"), "--store", ro, "audit", "--format", "json"}, "", {"AUTHD_CONFIG=/nonexistent"});
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_NE(audit.out.find("\"username\":\"lena\""), std::string::npos) << audit.out;
  auto write = test::run_process({test::bin("authctl"), "--store", ro, "user", "disable", "lena"}, "", {"AUTHD_CONFIG=/nonexistent"});
  EXPECT_EQ(write.exit_code, 2) << "a read-only account cannot change anything";
  EXPECT_EQ(write.err.find("ropw"), std::string::npos);
}

// Several hosts: the first that answers serves, whichever place the dead one has in the list,
// and a dead host costs no request once it was seen dead.
TEST(MariadbDriver, SeveralHostsUseTheFirstThatAnswers) {
  const std::string url = test::fresh_mariadb_url(false);
  auto s = open_store(url, {});
  ASSERT_TRUE((*s)->migrate());
  ASSERT_TRUE((*s)->create({"noor", "{PLAIN}x", true, {}, {}, {}, {}}, ev("create")));
  const std::string good = "127.0.0.1:" + test::mdb_port();
  const std::string db = url.substr(url.rfind('/') + 1);
  for (const std::string hosts : {"127.0.0.1:1," + good, good + ",127.0.0.1:1", "127.0.0.1:1,127.0.0.1:2," + good}) {
    auto cluster = open_store("mariadb://authd:authdpw@" + hosts + "/" + db, {1000, 2});
    ASSERT_TRUE(cluster) << hosts;
    for (int i = 0; i < 5; ++i) {
      auto found = (*cluster)->find("noor");
      ASSERT_TRUE(found) << hosts << ": " << found.error().message;
      EXPECT_TRUE(*found);
    }
    EXPECT_TRUE((*cluster)->ping());
  }
  auto none = open_store("mariadb://authd:authdpw@127.0.0.1:1,127.0.0.1:2/" + db, {500, 1});
  auto down = (*none)->find("noor");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().kind, ErrorKind::temporary);
  EXPECT_EQ(down.error().message.find("authdpw"), std::string::npos);
}

// A first host that accepts connections and never answers (a black hole) costs the first
// connect its timeout; afterwards it is skipped, and when it is tried again only one connect
// probes it (with a short connect timeout) while every other request goes straight on.
TEST(MariadbDriver, ABlackHoledHostIsProbedByOneRequestAtATime) {
  const int hole = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(hole, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(hole, 128), 0); // the kernel completes handshakes; nobody ever speaks
  socklen_t len = sizeof addr;
  ::getsockname(hole, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string url = test::fresh_mariadb_url(false);
  ASSERT_TRUE((*open_store(url, {}))->migrate());
  const std::string db = url.substr(url.rfind('/') + 1);
  auto s = open_store("mariadb://authd:authdpw@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + ",127.0.0.1:" +
                          test::mdb_port() + "/" + db, {2000, 8});
  ASSERT_TRUE(s);
  using Clock = std::chrono::steady_clock;
  const auto timed = [&] {
    const auto t = Clock::now();
    EXPECT_TRUE((*s)->find("nobody"));
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  const auto batch = [&] { // 8 lookups at once: their durations
    std::vector<double> took(8);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < took.size(); ++i) {
      threads.emplace_back([&, i] { took[i] = timed(); });
    }
    for (auto& t : threads) {
      t.join();
    }
    std::sort(took.begin(), took.end());
    return took;
  };
  EXPECT_GE(timed(), 1.5) << "the first connect waits for the black hole's timeout, then moves on";
  EXPECT_LT(batch().back(), 0.5) << "the failed host is skipped: new connections go straight to the next";
  std::this_thread::sleep_for(std::chrono::milliseconds(10500));
  (void)batch(); // connections to the fallback host are now old: closed as these end
  const auto probing = batch();
  EXPECT_LT(probing[6], 0.5) << "all but one request go straight on while one probes the skipped host";
  EXPECT_LT(probing[7], 1.8) << "the probe of a host that failed has a short connect timeout";
  ::close(hole);
}

// Stops the real server mid-run: lookups must fail as temporary (never "not found") and work
// again shortly after it is back, without reopening the store.
TEST(MariadbDriver, ServerRestartIsTemporaryAndRecovers) {
  const std::string url = test::fresh_mariadb_url(false);
  auto s = open_store(url, {2000, 4});
  ASSERT_TRUE((*s)->migrate());
  ASSERT_TRUE((*s)->create({"kim", "{PLAIN}x", true, {}, {}, {}, {}}, ev("create")));
  ASSERT_TRUE(*(*s)->find("kim"));

  ASSERT_EQ(test::mariadb_script({"stop"}).exit_code, 0);
  for (int i = 0; i < 3; ++i) {
    auto down = (*s)->find("kim");
    ASSERT_FALSE(down) << "a stopped database must not answer";
    EXPECT_EQ(down.error().kind, ErrorKind::temporary) << down.error().message;
  }
  EXPECT_FALSE((*s)->ping());

  ASSERT_EQ(test::mariadb_script({"start"}).exit_code, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  Result<std::optional<Account>> up = fail(ErrorKind::temporary, "not tried");
  while (std::chrono::steady_clock::now() < deadline) {
    up = (*s)->find("kim");
    if (up) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_TRUE(*up);
}

} // namespace
} // namespace authd::store
