#pragma once
// The driver suites' fixture: one store of each kind (the in-memory fake, SQLite, a real MariaDB
// over TCP and over its socket), migrated. In a named namespace: both suite files share the type.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "store_fixture.hpp"

namespace authd::store::suite {

enum class Kind { memory, sqlite, mariadb_tcp, mariadb_socket };

inline std::unique_ptr<CredentialStore> make(Kind kind) {
  if (kind == Kind::memory) {
    return make_memory_store();
  }
  const std::string url = kind == Kind::sqlite ? test::fresh_sqlite_url() : test::fresh_mariadb_url(kind == Kind::mariadb_socket);
  auto s = open_store(url, {3000, 8});
  EXPECT_TRUE(s) << url << ": " << s.error().message;
  return s ? std::move(*s) : nullptr;
}

inline Event ev(const std::string& kind) { return Event{0, "", kind, "test", "", "", ""}; }

inline NewAccount user(const std::string& name, const std::string& hash = "$2y$04$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu") {
  NewAccount n;
  n.username = name;
  n.password_hash = hash;
  return n;
}

class StoreSuite : public ::testing::TestWithParam<Kind> {
protected:
  void SetUp() override {
    m_store = make(GetParam());
    ASSERT_TRUE(m_store);
    auto v = m_store->migrate();
    ASSERT_TRUE(v) << v.error().message;
  }
  std::unique_ptr<CredentialStore> m_store;
};

inline std::string kind_name(const ::testing::TestParamInfo<Kind>& info) {
  static const char* const k_names[] = {"memory", "sqlite", "mariadb_tcp", "mariadb_socket"};
  return k_names[static_cast<int>(info.param)];
}

} // namespace authd::store::suite

// One instantiation per suite name, over every driver.
#define AUTHD_STORE_SUITE_ON_EVERY_DRIVER(suite_name)                                                        \
  INSTANTIATE_TEST_SUITE_P(Drivers, suite_name,                                                              \
                           ::testing::Values(::authd::store::suite::Kind::memory, ::authd::store::suite::Kind::sqlite, \
                                             ::authd::store::suite::Kind::mariadb_tcp,                       \
                                             ::authd::store::suite::Kind::mariadb_socket),                   \
                           ::authd::store::suite::kind_name)
