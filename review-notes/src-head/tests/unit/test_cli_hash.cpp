// authctl hash identify / verify / new, driven as a process like an operator or a script would.
#include <gtest/gtest.h>

#include "support/process.hpp"

namespace authd {
namespace {

using test::bin;
using test::run_process;

const std::vector<std::string> k_env = {"AUTHD_CONFIG=/nonexistent/authd-test.toml"};

test::ProcessResult authctl(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), bin("authctl"));
  return run_process(args, input, k_env);
}

TEST(AuthctlHash, IdentifyPrintsSchemeAndStatus) {
  auto r = authctl({"hash", "identify", "5f4dcc3b5aa765d61d8327deb882cf99"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "plain_md5 legacy\n");
  r = authctl({"hash", "identify", "$2y$12$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu"});
  EXPECT_EQ(r.out, "bcrypt current\n");
  r = authctl({"hash", "identify", "$2y$10$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu"});
  EXPECT_EQ(r.out, "bcrypt weak\n");
}

TEST(AuthctlHash, IdentifyUnknownExitsTwo) {
  auto r = authctl({"hash", "identify", "not-a-hash"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "unknown invalid\n");
  EXPECT_NE(r.err.find("unknown hash scheme"), std::string::npos);
}

TEST(AuthctlHash, VerifyExitCodes) {
  const std::string md5 = "5f4dcc3b5aa765d61d8327deb882cf99";
  EXPECT_EQ(authctl({"hash", "verify", md5}, "password\n").exit_code, 0);
  EXPECT_EQ(authctl({"hash", "verify", md5}, "password").exit_code, 0);
  EXPECT_EQ(authctl({"hash", "verify", md5}, "password\n\n").exit_code, 1) << "only one newline is stripped";
  EXPECT_EQ(authctl({"hash", "verify", md5}, " password\n").exit_code, 1) << "spaces are kept";
  EXPECT_EQ(authctl({"hash", "verify", md5}, "wrong\n").exit_code, 1);
  EXPECT_EQ(authctl({"hash", "verify", "$2y$05$broken"}, "password\n").exit_code, 2);
  EXPECT_EQ(authctl({"hash", "verify", md5}, std::string("pass\0word\n", 10)).exit_code, 2);
  EXPECT_EQ(authctl({"hash", "verify", md5}, std::string(5000, 'a')).exit_code, 2);
}

TEST(AuthctlHash, VerifyKeepsEveryOtherByte) {
  auto made = authctl({"hash", "new", "--cost", "4"}, "tab\there \\ \"q\" :\r\n");
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string hash = made.out.substr(0, made.out.size() - 1);
  EXPECT_EQ(authctl({"hash", "verify", hash}, "tab\there \\ \"q\" :\r\n").exit_code, 0);
  EXPECT_EQ(authctl({"hash", "verify", hash}, "tab\there \\ \"q\" :\n").exit_code, 1);
}

TEST(AuthctlHash, NewBcryptAndArgon2id) {
  auto r = authctl({"hash", "new", "--scheme", "bcrypt", "--cost", "5"}, "secret\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("$2y$05$"));
  EXPECT_EQ(r.out.size(), 61U);
  r = authctl({"hash", "new", "--scheme", "argon2id", "--cost", "1", "--memory", "64"}, "secret\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
  EXPECT_EQ(authctl({"hash", "verify", r.out.substr(0, r.out.size() - 1)}, "secret\n").exit_code, 0);
}

TEST(AuthctlHash, NewRefusesBadInput) {
  EXPECT_EQ(authctl({"hash", "new", "--cost", "3"}, "secret\n").exit_code, 2);
  EXPECT_EQ(authctl({"hash", "new", "--scheme", "md5"}, "secret\n").exit_code, 2);
  EXPECT_EQ(authctl({"hash", "new", "--cost", "4"}, "\n").exit_code, 2);
  EXPECT_EQ(authctl({"hash", "new", "--cost", "4"}, std::string(73, 'a')).exit_code, 2);
}

TEST(AuthctlHash, ConfigDrivesTheDefaults) {
  auto r = run_process({bin("authctl"), "--config", "/nonexistent/x.toml", "hash", "identify", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("config file not found"), std::string::npos);
}

TEST(Authctl, UsageErrorsExitTwo) {
  EXPECT_EQ(authctl({}).exit_code, 2);
  EXPECT_EQ(authctl({"hash"}).exit_code, 2);
  EXPECT_EQ(authctl({"hash", "identify"}).exit_code, 2);
  EXPECT_EQ(authctl({"nosuch"}).exit_code, 2);
  EXPECT_EQ(authctl({"--help"}).exit_code, 0);
}

} // namespace
} // namespace authd
