// authctl db migrate, driven as a process.
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/process.hpp"

namespace authd {
namespace {

TEST(AuthctlDb, MigrateIsIdempotentOnSqlite) {
  const std::string db = std::string(AUTHD_BIN_DIR) + "/cli-migrate-" + std::to_string(::getpid()) + ".db";
  ::unlink(db.c_str());
  for (int i = 0; i < 2; ++i) {
    auto r = test::run_process({test::bin("authctl"), "--store", "sqlite://" + db, "db", "migrate"}, "",
                               {"AUTHD_CONFIG=/nonexistent"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "schema version 5 (sqlite://" + db + ")\n");
  }
}

TEST(AuthctlDb, UnreachableDatabaseIsAClearErrorWithoutThePassword) {
  auto r = test::run_process({test::bin("authctl"), "--store", "mariadb://authd:s3cretpw@127.0.0.1:1/authd", "db",
                              "migrate"}, "", {"AUTHD_CONFIG=/nonexistent"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("s3cretpw"), std::string::npos);
}

} // namespace
} // namespace authd
