// authctl user … and audit, driven as processes against a SQLite store.
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/process.hpp"

namespace authd {
namespace {

const std::string k_md5 = "5f4dcc3b5aa765d61d8327deb882cf99";

class AuthctlUser : public ::testing::Test {
protected:
  void SetUp() override {
    static int n = 0;
    m_db = std::string(AUTHD_BIN_DIR) + "/cli-user-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".db";
    ::unlink(m_db.c_str());
  }
  test::ProcessResult ctl(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {test::bin("authctl"), "--store", "sqlite://" + m_db});
    return test::run_process(args, input, {"AUTHD_CONFIG=/nonexistent"});
  }
  std::string m_db;
};

TEST_F(AuthctlUser, AddShowListAndExitCodes) {
  auto r = ctl({"user", "add", "Alice", "--hash", k_md5, "--service", "imap"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "added alice (plain_md5 legacy)\n");
  EXPECT_EQ(ctl({"user", "add", "alice", "--hash", k_md5}).exit_code, 1) << "exists";
  EXPECT_EQ(ctl({"user", "add", "carol", "--hash", "garbage"}).exit_code, 2);
  EXPECT_EQ(ctl({"user", "add", "bad\x01name", "--hash", k_md5}).exit_code, 2);
  r = ctl({"user", "add", "bob"}, "s3cret-pw\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "added bob (bcrypt current)\n");
  EXPECT_EQ(ctl({"user", "add", "dora"}, "\n").exit_code, 2) << "empty password refused";
  auto show = ctl({"user", "show", "alice"});
  EXPECT_EQ(show.exit_code, 0);
  EXPECT_NE(show.out.find("plain_md5 (legacy)"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("services:         imap\n"), std::string::npos) << show.out;
  EXPECT_NE(ctl({"user", "show", "bob"}).out.find("services:         all (every service)\n"), std::string::npos);
  EXPECT_EQ(show.out.find(k_md5), std::string::npos) << "never the hash";
  EXPECT_EQ(ctl({"user", "show", "nobody"}).exit_code, 1);
  auto list = ctl({"user", "list"});
  EXPECT_EQ(list.out, "alice\tenabled\tplain_md5\tlegacy\timap\nbob\tenabled\tbcrypt\tcurrent\tall\n");
  auto json = nlohmann::json::parse(ctl({"user", "list", "--format", "json"}).out);
  ASSERT_EQ(json.size(), 2U);
  EXPECT_EQ(json[0]["username"], "alice");
  EXPECT_EQ(json[0]["all_services"], false);
  EXPECT_EQ(json[0]["services"], nlohmann::json::array({"imap"}));
  EXPECT_EQ(json[1]["all_services"], true);
  EXPECT_EQ(json[1]["services"], nlohmann::json::array());
  EXPECT_EQ(json[1]["uid"], nullptr);
  auto one = nlohmann::json::parse(ctl({"user", "show", "alice", "--format", "json"}).out);
  EXPECT_EQ(one["scheme"], "plain_md5");
  EXPECT_EQ(one["services"], nlohmann::json::array({"imap"}));
  EXPECT_EQ(one.dump().find(k_md5), std::string::npos) << "never the hash";
  EXPECT_EQ(ctl({"user", "list", "--format", "json"}).out.find(k_md5), std::string::npos);
}

// The contract's grants: none = every service; the first grant = exactly that one; revoking the
// last one leaves no service, never every service again.
TEST_F(AuthctlUser, RevokingTheLastGrantClosesTheAccount) {
  ASSERT_EQ(ctl({"user", "add", "dave", "--hash", k_md5, "--service", "imap"}).exit_code, 0);
  auto r = ctl({"user", "revoke", "dave", "imap"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "dave: no service left — every login is refused\n");
  EXPECT_NE(ctl({"user", "show", "dave"}).out.find("services:         none (no service"), std::string::npos);
  auto audit = nlohmann::json::parse(ctl({"audit", "--format", "json"}).out);
  ASSERT_EQ(audit["accounts"].size(), 1U);
  EXPECT_EQ(audit["accounts"][0]["all_services"], false);
  EXPECT_EQ(audit["accounts"][0]["services"], nlohmann::json::array());
  EXPECT_EQ(ctl({"user", "grant", "dave", "web"}).exit_code, 0);
  EXPECT_EQ(ctl({"user", "revoke", "dave", "web"}).exit_code, 0);
  EXPECT_EQ(ctl({"user", "grant", "dave", "all"}).exit_code, 0);
  EXPECT_NE(ctl({"user", "show", "dave"}).out.find("services:         all (every service)"), std::string::npos);
  auto partial = ctl({"user", "revoke", "dave", "imap"});
  EXPECT_EQ(partial.exit_code, 2) << "an every-service account has no grant 'imap' to revoke";
  EXPECT_NE(partial.err.find("may use every service"), std::string::npos) << partial.err;
  EXPECT_EQ(ctl({"user", "revoke", "dave", "all"}).exit_code, 0);
  EXPECT_NE(ctl({"user", "show", "dave"}).out.find("services:         none"), std::string::npos);
  EXPECT_EQ(ctl({"user", "revoke", "nobody", "imap"}).exit_code, 1);
}

// Rows written by other tools (or older builds) with a name that is not canonical cannot log in:
// audit says so, and user delete removes them by their exact bytes.
TEST_F(AuthctlUser, NonCanonicalStoredNamesAreReportedAndRemovable) {
  ASSERT_EQ(ctl({"user", "add", "bob", "--hash", k_md5}).exit_code, 0);
  auto ins = test::run_process({"/usr/bin/sqlite3", m_db,
                                "INSERT INTO accounts (username, password_hash, enabled, created_at, password_changed_at) "
                                "VALUES (' sp', '" + k_md5 + "', 1, 0, 0), ('Upper', '" + k_md5 + "', 1, 0, 0)"});
  ASSERT_EQ(ins.exit_code, 0) << ins.err;
  auto audit = nlohmann::json::parse(ctl({"audit", "--format", "json"}).out);
  int flagged = 0;
  for (const auto& a : audit["accounts"]) {
    flagged += a.contains("note") ? 1 : 0;
  }
  EXPECT_EQ(flagged, 2) << audit.dump();
  EXPECT_EQ(ctl({"user", "delete", " sp"}).exit_code, 0) << "removable by its exact bytes";
  EXPECT_EQ(ctl({"user", "delete", "Upper"}).exit_code, 0);
  EXPECT_EQ(ctl({"user", "list"}).out, "bob\tenabled\tplain_md5\tlegacy\tall\n") << "bob untouched";
}

// One person, one name (CONTRACT.md user names): refused or normalised at add.
TEST_F(AuthctlUser, NamesAreCanonical) {
  ASSERT_EQ(ctl({"user", "add", "bob", "--hash", k_md5}).exit_code, 0);
  for (const std::string bad : {" bob", "bob ", "\tbob", "bob\xc2\xa0", "a:b", "\xff", "zero\xe2\x80\x8bwidth", "bob\x7f"}) {
    auto r = ctl({"user", "add", bad, "--hash", k_md5});
    EXPECT_EQ(r.exit_code, 2) << "'" << bad << "' must be refused: " << r.out;
    EXPECT_FALSE(r.err.empty());
  }
  EXPECT_EQ(ctl({"user", "add", "jose\xcc\x81", "--hash", k_md5}).out, "added jos\xc3\xa9 (plain_md5 legacy)\n");
  EXPECT_EQ(ctl({"user", "add", "jos\xc3\xa9", "--hash", k_md5}).exit_code, 1) << "the NFC spelling is the same account";
  EXPECT_EQ(ctl({"user", "add", "john smith", "--hash", k_md5}).exit_code, 0) << "inner spaces are a name";
  EXPECT_EQ(ctl({"user", "show", " bob"}).exit_code, 2) << "not a second bob";
}

TEST_F(AuthctlUser, PasswdDisableGrantDelete) {
  ASSERT_EQ(ctl({"user", "add", "erin", "--hash", k_md5}).exit_code, 0);
  ASSERT_EQ(ctl({"user", "passwd", "erin"}, "new-password\n").exit_code, 0);
  EXPECT_NE(ctl({"user", "show", "erin"}).out.find("bcrypt (current)"), std::string::npos);
  EXPECT_EQ(ctl({"user", "passwd", "nobody"}, "x\n").exit_code, 1);
  EXPECT_EQ(ctl({"user", "disable", "erin"}).exit_code, 0);
  EXPECT_NE(ctl({"user", "show", "erin"}).out.find("enabled:          no"), std::string::npos);
  EXPECT_EQ(ctl({"user", "enable", "erin"}).exit_code, 0);
  EXPECT_EQ(ctl({"user", "grant", "erin", "web"}).exit_code, 0);
  EXPECT_EQ(ctl({"user", "grant", "erin", "Not Valid"}).exit_code, 2);
  EXPECT_EQ(ctl({"user", "revoke", "erin", "web"}).exit_code, 0);
  EXPECT_EQ(ctl({"user", "revoke", "erin", "web"}).exit_code, 1);
  EXPECT_EQ(ctl({"user", "delete", "erin"}).exit_code, 0);
  EXPECT_EQ(ctl({"user", "delete", "erin"}).exit_code, 1);
}

TEST_F(AuthctlUser, AuditFormatsNeverShowHashes) {
  ASSERT_EQ(ctl({"user", "add", "legacy1", "--hash", k_md5}).exit_code, 0);
  ASSERT_EQ(ctl({"user", "add", "apr", "--hash", "$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/"}).exit_code, 0);
  ASSERT_EQ(ctl({"user", "add", "modern"}, "pw-long-enough\n").exit_code, 0);
  auto table = ctl({"audit"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("3 accounts: 1 current, 0 weak, 2 legacy, 0 wrapped — 33 % migrated"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("modern "), std::string::npos) << "current accounts only with --all";
  EXPECT_NE(ctl({"audit", "--all"}).out.find("modern "), std::string::npos);
  auto json_out = ctl({"audit", "--format", "json"});
  ASSERT_EQ(json_out.exit_code, 0) << json_out.err;
  const auto j = nlohmann::json::parse(json_out.out);
  EXPECT_EQ(j["total"], 3);
  EXPECT_EQ(j["by_status"]["legacy"], 2);
  EXPECT_EQ(j["by_scheme"]["apr1"], 1);
  ASSERT_EQ(j["accounts"].size(), 2U);
  for (const auto& a : j["accounts"]) {
    for (const char* key : {"username", "scheme", "status", "enabled", "last_login_at"}) {
      EXPECT_TRUE(a.contains(key)) << key;
    }
  }
  auto csv = ctl({"audit", "--format", "csv", "--all"});
  EXPECT_TRUE(csv.out.starts_with("username,scheme,status,enabled,last_login_at,password_changed_at\n"));
  for (const std::string& out : {table.out, json_out.out, csv.out}) {
    EXPECT_EQ(out.find('$'), std::string::npos) << "no hash material: " << out;
    EXPECT_EQ(out.find(k_md5), std::string::npos);
  }
}

TEST_F(AuthctlUser, FailOnLegacyCountsOnlyEnabledAccounts) {
  ASSERT_EQ(ctl({"user", "add", "old", "--hash", k_md5}).exit_code, 0);
  EXPECT_EQ(ctl({"audit", "--fail-on-legacy"}).exit_code, 1);
  ASSERT_EQ(ctl({"user", "disable", "old"}).exit_code, 0);
  EXPECT_EQ(ctl({"audit", "--fail-on-legacy"}).exit_code, 0);
  EXPECT_EQ(ctl({"audit", "--format", "xml"}).exit_code, 2);
}

TEST_F(AuthctlUser, ReadCommandsDoNotCreateASchema) {
  auto r = ctl({"audit"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("authctl db migrate"), std::string::npos) << r.err;
}

} // namespace
} // namespace authd

namespace authd {
namespace {
// Issue 16: authctl app-password add|list|revoke and user set --main-password-service.
TEST_F(AuthctlUser, AppPasswordsAreShownOnceListedWithoutSecretsAndRevoked) {
  ASSERT_EQ(ctl({"user", "add", "pia", "--hash", k_md5}).exit_code, 0);
  auto added = ctl({"app-password", "add", "Pia", "--service", "imap", "--service", "smtp", "--label", "Pia's phone",
                    "--expires", "2099-12-31"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  ASSERT_EQ(added.out.size(), 33u) << "the password as the only line: " << added.out;
  const std::string secret = added.out.substr(0, 32);
  EXPECT_EQ(secret[4], '-');
  auto json = nlohmann::json::parse(ctl({"app-password", "list", "pia", "--format", "json"}).out);
  ASSERT_EQ(json.size(), 1u);
  for (const char* key : {"id", "label", "services", "created_at", "expires_at", "last_used_at", "last_used_service",
                          "last_used_ip", "revoked"}) {
    EXPECT_TRUE(json[0].contains(key)) << key;
  }
  EXPECT_EQ(json[0]["label"], "Pia's phone");
  EXPECT_EQ(json[0]["services"], nlohmann::json::array({"imap", "smtp"}));
  EXPECT_EQ(json[0]["expires_at"], "2100-01-01T00:00:00Z") << "usable through the day given";
  EXPECT_EQ(json[0]["last_used_at"], nullptr);
  EXPECT_EQ(json[0]["revoked"], false);
  const std::string table = ctl({"app-password", "list", "pia"}).out;
  EXPECT_EQ(table.find(secret), std::string::npos) << "never the secret after creation";
  EXPECT_EQ(json.dump().find(secret.substr(5, 4)), std::string::npos);
  EXPECT_NE(table.find("\tactive\n"), std::string::npos) << table;

  EXPECT_EQ(ctl({"app-password", "add", "pia"}).exit_code, 2) << "--service is required";
  EXPECT_EQ(ctl({"app-password", "add", "pia", "--service", "imap", "--expires", "2001-01-01"}).exit_code, 2) << "past";
  EXPECT_EQ(ctl({"app-password", "add", "pia", "--service", "imap", "--expires", "31.12.2099"}).exit_code, 2);
  EXPECT_EQ(ctl({"app-password", "add", "nobody", "--service", "imap"}).exit_code, 1);
  EXPECT_EQ(ctl({"app-password", "list", "nobody"}).exit_code, 1);
  const std::string id = std::to_string(json[0]["id"].get<long long>());
  EXPECT_EQ(ctl({"app-password", "revoke", "pia", "999"}).exit_code, 1);
  auto revoked = ctl({"app-password", "revoke", "pia", id});
  EXPECT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ(nlohmann::json::parse(ctl({"app-password", "list", "pia", "--format", "json"}).out)[0]["revoked"], true);

  EXPECT_EQ(ctl({"user", "set", "pia", "--main-password-service", "web", "--main-password-service", "nextcloud"}).exit_code, 0);
  auto shown = nlohmann::json::parse(ctl({"user", "show", "pia", "--format", "json"}).out);
  EXPECT_EQ(shown["main_password_services"], nlohmann::json::array({"nextcloud", "web"}));
  EXPECT_NE(ctl({"user", "show", "pia"}).out.find("main password:    nextcloud,web"), std::string::npos);
  EXPECT_EQ(ctl({"user", "set", "pia", "--main-password-service", "all"}).exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(ctl({"user", "show", "pia", "--format", "json"}).out)["main_password_services"], nullptr);
  EXPECT_EQ(ctl({"user", "set", "pia", "--main-password-service", "Bad Service"}).exit_code, 2);
  EXPECT_EQ(ctl({"user", "set", "nobody", "--main-password-service", "web"}).exit_code, 1);

  EXPECT_EQ(ctl({"user", "set", "pia", "--main-password-service", "none", "--main-password-service", "web"}).exit_code, 2)
      << "'none' stands alone";
  EXPECT_EQ(ctl({"app-password", "add", "pia", "--service", "imap", "--expires", "2099-02-30"}).exit_code, 2)
      << "an impossible date is refused, not moved into March";
  EXPECT_EQ(ctl({"app-password", "add", "pia", "--service", "imap", "--label", "a\nb"}).exit_code, 2);
  EXPECT_EQ(ctl({"app-password", "add", "pia", "--service", "imap", "--label", std::string(201, 'x')}).exit_code, 2);
  ASSERT_EQ(ctl({"app-password", "add", "pia", "--service", "caldav"}).exit_code, 0);
  auto audit = nlohmann::json::parse(ctl({"audit", "--format", "json"}).out);
  EXPECT_EQ(audit["app_passwords"]["accounts"], 1);
}
} // namespace
} // namespace authd
