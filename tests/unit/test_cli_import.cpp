// authctl import / wrap-legacy / lock-legacy, driven as processes against SQLite stores.
#include <fstream>

#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../../src/cli/import_parsers.hpp"
#include "support/process.hpp"

namespace authd {
namespace {

const std::string k_md5 = "5f4dcc3b5aa765d61d8327deb882cf99"; // "password"

class AuthctlImport : public ::testing::Test {
protected:
  void SetUp() override {
    static int n = 0;
    m_base = std::string(AUTHD_BIN_DIR) + "/cli-import-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    ::unlink((m_base + ".db").c_str());
  }
  test::ProcessResult ctl(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {test::bin("authctl"), "--store", "sqlite://" + m_base + ".db"});
    return test::run_process(args, input, {"AUTHD_CONFIG=/nonexistent"});
  }
  std::string write(const std::string& suffix, const std::string& text) {
    const std::string path = m_base + suffix;
    std::ofstream(path) << text;
    return path;
  }
  std::string m_base;
};

TEST_F(AuthctlImport, HtpasswdLinesAreImportedSkippedOrRejectedWithLineNumbers) {
  const std::string file = write(".htpasswd", "anna:$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/\n# comment\n\nben:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"
                                              "no-colon\ncleo:garbage\nBad\x01Name:" + k_md5 + "\n");
  auto r = ctl({"import", "--format", "htpasswd", file});
  EXPECT_EQ(r.exit_code, 1) << "some lines were rejected";
  EXPECT_EQ(r.out, "imported 2, updated 0, skipped 0 (exist; --update replaces their hash), rejected 3\n");
  EXPECT_NE(r.err.find("line 5: rejected: need user:hash"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 6: rejected: unrecognised hash"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 7: rejected: username contains a control or invisible character"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("garbage"), std::string::npos) << "rejections do not echo hash material";
  EXPECT_EQ(ctl({"hash", "verify", "x"}).exit_code, 2);
  r = ctl({"import", "--format", "htpasswd", write(".2", "anna:" + k_md5 + "\n")});
  EXPECT_EQ(r.out, "imported 0, updated 0, skipped 1 (exist; --update replaces their hash), rejected 0\n");
  EXPECT_NE(ctl({"user", "show", "anna"}).out.find("apr1"), std::string::npos) << "skipped means untouched";
  r = ctl({"import", "--format", "htpasswd", "--update", write(".3", "anna:" + k_md5 + "\n")});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(ctl({"user", "show", "anna"}).out.find("plain_md5"), std::string::npos);
}

// One person, one name: spellings that no front end can carry, or that would look like another
// account, are rejected with their line; a name twice is an error on its second line.
TEST_F(AuthctlImport, NamesAreCanonicalAndOnceEach) {
  const std::string nfd = "jose\xcc\x81"; // e + combining acute
  const std::string nfc = "jos\xc3\xa9";
  const std::string file = write(".names", "bob:" + k_md5 + "\n bob:" + k_md5 + "\nbob :" + k_md5 + "\nBOB:" + k_md5 +
                                               "\nann:b:" + k_md5 + "\n\xff\xfe:" + k_md5 + "\n" + nfd + ":" + k_md5 +
                                               "\n" + nfc + ":" + k_md5 + "\nzero\xe2\x80\x8bwidth:" + k_md5 + "\n");
  auto r = ctl({"import", "--format", "htpasswd", file});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "imported 2, updated 0, skipped 0 (exist; --update replaces their hash), rejected 7\n") << r.err;
  EXPECT_NE(r.err.find("line 2: rejected: username begins or ends with white space"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 3: rejected: username begins or ends with white space"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 4: rejected: 'bob' again (first on line 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 6: rejected: username is not valid UTF-8"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 8: rejected: '" + nfc + "' again (first on line 7"), std::string::npos)
      << "NFD and NFC are one name: " << r.err;
  EXPECT_NE(r.err.find("line 9: rejected: username contains a control or invisible character"), std::string::npos) << r.err;
  const std::string list = ctl({"user", "list"}).out;
  EXPECT_NE(list.find(nfc + "\t"), std::string::npos) << "stored in NFC: " << list;
  EXPECT_EQ(list.find(nfd), std::string::npos) << list;
  EXPECT_EQ(ctl({"user", "show", nfd}).exit_code, 0) << "an NFD spelling finds the NFC account";
  auto colon = ctl({"import", "--format", "csv", write(".csv", "username,hash\n\"ann:b\"," + k_md5 + "\n")});
  EXPECT_NE(colon.err.find("line 2: rejected: username contains ':'"), std::string::npos) << colon.err;
}

TEST_F(AuthctlImport, OverlongLinesAreRejectedAndABomIsIgnored) {
  const std::string file = write(".long", "\xEF\xBB\xBF" "amy:" + k_md5 + "\n" + std::string(200000, 'x') + "\nzoe:" + k_md5 + "\n");
  auto r = ctl({"import", "--format", "htpasswd", file});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "imported 2, updated 0, skipped 0 (exist; --update replaces their hash), rejected 1\n") << r.err;
  EXPECT_NE(r.err.find("line 2: rejected: line longer than 64 KiB"), std::string::npos) << r.err;
  EXPECT_EQ(ctl({"user", "show", "amy"}).exit_code, 0) << "the byte-order mark is not part of the first name";
}

TEST_F(AuthctlImport, ADirectoryOrAnUnreadableFileIsAnError) {
  auto dir = ctl({"import", "--format", "htpasswd", "/tmp"});
  EXPECT_EQ(dir.exit_code, 2) << dir.out;
  EXPECT_NE(dir.err.find("/tmp is a directory"), std::string::npos) << dir.err;
  EXPECT_EQ(dir.out, "") << "no 0/0/0 summary";
  auto missing = ctl({"import", "--format", "htpasswd", "/nonexistent/file"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("cannot read /nonexistent/file"), std::string::npos) << missing.err;
}

TEST_F(AuthctlImport, DryRunChangesNothing) {
  auto r = ctl({"import", "--format", "htpasswd", "--dry-run", write(".h", "zed:" + k_md5 + "\n")});
  ASSERT_EQ(r.exit_code, 2) << "no schema yet: a dry run does not create one";
  ASSERT_EQ(ctl({"db", "migrate"}).exit_code, 0);
  r = ctl({"import", "--format", "htpasswd", "--dry-run", m_base + ".h"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "dry run: would import 1, updated 0, skipped 0 (exist; --update replaces their hash), rejected 0\n");
  EXPECT_EQ(ctl({"user", "show", "zed"}).exit_code, 1);
}

TEST_F(AuthctlImport, PasswdFileKeepsHomeUidGid) {
  auto r = ctl({"import", "--format", "passwd-file",
                write(".pf", "eve:{SSHA}ouUZQtFbhkQrfIJ43qx176Wfj4YBAgME:5000:5001::/home/eve::userdb_quota_rule=*:storage=1G\n"
                             "fay:{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu\n"
                             "gil:{PLAIN}pw:x\n")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("line 3: rejected: uid is not a number"), std::string::npos) << r.err;
  const std::string show = ctl({"user", "show", "eve"}).out;
  EXPECT_NE(show.find("home/uid/gid:     /home/eve 5000 5001"), std::string::npos) << show;
  EXPECT_NE(ctl({"user", "show", "fay"}).out.find("bcrypt (weak)"), std::string::npos);
}

TEST_F(AuthctlImport, CsvWithQuotesAndHeader) {
  auto r = ctl({"import", "--format", "csv", write(".csv", "username,hash\n\"o,neil\"," + k_md5 + "\n\"un\"terminated,x\n")});
  EXPECT_NE(r.out.find("imported 1"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(ctl({"user", "show", "o,neil"}).exit_code, 0);
  EXPECT_EQ(cli::split_csv("a,\"b,c\",\"d\"\"e\""), (std::vector<std::string>{"a", "b,c", "d\"e"}));
  EXPECT_FALSE(cli::split_csv("\"open"));
}

TEST_F(AuthctlImport, SqlFromALegacyTableKeepsTheStrongerHash) {
  const std::string legacy = m_base + "-legacy.db";
  ::unlink(legacy.c_str());
  const std::string bcrypt = "$2y$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu";
  auto made = test::run_process({"/usr/bin/sqlite3", legacy,
                                 "CREATE TABLE users (name TEXT, md5 TEXT, bc TEXT);"
                                 "INSERT INTO users VALUES ('hank','" + k_md5 + "','" + bcrypt + "'),"
                                 "('ivy','" + k_md5 + "',NULL),('jo',NULL,'');"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto r = ctl({"import", "--sql", "SELECT name, md5, bc FROM users ORDER BY name", "--from", "sqlite://" + legacy});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "imported 2, updated 0, skipped 0 (exist; --update replaces their hash), rejected 1\n");
  EXPECT_NE(r.err.find("line 3: rejected: no recognised hash"), std::string::npos) << r.err;
  EXPECT_NE(ctl({"user", "show", "hank"}).out.find("bcrypt"), std::string::npos) << "bcrypt beats MD5";
  EXPECT_NE(ctl({"user", "show", "ivy"}).out.find("plain_md5"), std::string::npos);
  EXPECT_EQ(ctl({"import", "--sql", "SELECT nonsense", "--from", "sqlite://" + legacy}).exit_code, 2);
}

TEST_F(AuthctlImport, WrapLegacyLeavesNoMd5AndLoginsStillWork) {
  ASSERT_EQ(ctl({"import", "--format", "htpasswd",
                 write(".w", "a1:" + k_md5 + "\na2:$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/\na3:{PLAIN}password\n"
                             "a4:$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/\n")}).exit_code, 0);
  ASSERT_EQ(ctl({"user", "add", "modern"}, "password\n").exit_code, 0);
  auto dry = ctl({"wrap-legacy", "--dry-run"});
  EXPECT_EQ(dry.out, "dry run: would wrap apr1=1 md5_crypt=1 plain=1 plain_md5=1\n");
  auto r = test::run_process({test::bin("authctl"), "--store", "sqlite://" + m_base + ".db", "wrap-legacy"}, "",
                             {"AUTHD_CONFIG=" + write(".toml", "[policy]\nbcrypt_cost = 4\n")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrapped 4, changed meanwhile (left alone) 0, failed 0, not legacy 1"), std::string::npos) << r.out;
  auto dump = test::run_process({"/usr/bin/sqlite3", m_base + ".db", "SELECT username, password_hash FROM accounts"});
  EXPECT_EQ(dump.out.find(k_md5), std::string::npos) << "no MD5 value is left in the database";
  EXPECT_EQ(dump.out.find("qjXMvbEw8oaL"), std::string::npos);
  EXPECT_EQ(dump.out.find("{PLAIN}"), std::string::npos);
  const std::string audit = ctl({"audit"}).out;
  EXPECT_NE(audit.find("wrap_plain_md5"), std::string::npos) << audit;
  EXPECT_NE(audit.find("3 wrapped"), std::string::npos) << audit;
  for (const char* user : {"a1", "a2", "a3", "a4"}) {
    const std::string line = dump.out.substr(dump.out.find(std::string(user) + "|"));
    const std::string hash = line.substr(line.find('|') + 1, line.find('\n') - line.find('|') - 1);
    EXPECT_EQ(ctl({"hash", "verify", hash}, "password\n").exit_code, 0) << user << " " << hash;
    EXPECT_EQ(ctl({"hash", "verify", hash}, "passworD\n").exit_code, 1) << user;
  }
  EXPECT_NE(ctl({"wrap-legacy"}).out.find("wrapped 0"), std::string::npos) << "idempotent";
}

// wrap-legacy never truncates: a {PLAIN} password longer than bcrypt's 72 bytes becomes argon2id
// over the whole password; a long password behind an MD5 is wrapped (the wrapper hashes the MD5,
// which covers every byte). password_changed_at stays: the password did not change.
TEST_F(AuthctlImport, WrapLegacyKeepsLongPasswordsAtFullStrength) {
  std::string lines;
  for (const std::size_t len : {73U, 100U, 1024U}) {
    lines += "p" + std::to_string(len) + ":{PLAIN}" + std::string(len - 1, 'a') + "z\n";
  }
  ASSERT_EQ(ctl({"import", "--format", "htpasswd", write(".long", lines)}).exit_code, 0);
  const std::string before = ctl({"user", "show", "p100", "--format", "json"}).out;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto r = test::run_process({test::bin("authctl"), "--store", "sqlite://" + m_base + ".db", "wrap-legacy"}, "",
                             {"AUTHD_CONFIG=" + write(".toml", "[policy]\nbcrypt_cost = 4\nargon2_mem_kib = 256\nargon2_ops = 1\n")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrapped 3"), std::string::npos) << r.out;
  auto dump = test::run_process({"/usr/bin/sqlite3", m_base + ".db", "SELECT username, password_hash FROM accounts"});
  for (const std::size_t len : {73U, 100U, 1024U}) {
    const std::string user = "p" + std::to_string(len) + "|";
    const std::string line = dump.out.substr(dump.out.find(user));
    const std::string hash = line.substr(user.size(), line.find('\n') - user.size());
    EXPECT_TRUE(hash.starts_with("$argon2id$")) << len << ": " << hash;
    const std::string pw = std::string(len - 1, 'a') + "z";
    EXPECT_EQ(ctl({"hash", "verify", hash}, pw + "\n").exit_code, 0) << len;
    EXPECT_EQ(ctl({"hash", "verify", hash}, pw.substr(0, 72) + "\n").exit_code, 1) << len << ": the first 72 bytes are not enough";
    EXPECT_EQ(ctl({"hash", "verify", hash}, std::string(len, 'a') + "\n").exit_code, 1) << len << ": nor another tail";
  }
  const auto was = nlohmann::json::parse(before);
  const auto now = nlohmann::json::parse(ctl({"user", "show", "p100", "--format", "json"}).out);
  EXPECT_EQ(now["scheme"], "argon2id");
  EXPECT_EQ(now["password_changed_at"], was["password_changed_at"]) << "a wrap is not a password change";
}

TEST_F(AuthctlImport, LockLegacyDisablesOnlyDormantLegacyAccounts) {
  ASSERT_EQ(ctl({"import", "--format", "htpasswd", write(".l", "old:" + k_md5 + "\n")}).exit_code, 0);
  ASSERT_EQ(ctl({"user", "add", "new"}, "password\n").exit_code, 0);
  auto dry = ctl({"lock-legacy", "--not-logged-in-since", "2030-01-01", "--dry-run"});
  EXPECT_EQ(dry.out, "would lock old\ndry run: 1 accounts would be locked\n");
  EXPECT_NE(ctl({"user", "show", "old"}).out.find("enabled:          yes"), std::string::npos);
  EXPECT_EQ(ctl({"lock-legacy", "--not-logged-in-since", "2030-01-01"}).exit_code, 0);
  EXPECT_NE(ctl({"user", "show", "old"}).out.find("enabled:          no"), std::string::npos);
  EXPECT_NE(ctl({"user", "show", "new"}).out.find("enabled:          yes"), std::string::npos);
  EXPECT_EQ(ctl({"lock-legacy", "--not-logged-in-since", "yesterday"}).exit_code, 2);
}

} // namespace
} // namespace authd
