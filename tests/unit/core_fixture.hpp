#pragma once
// The core's unit-test fixture: the in-memory store behind a wrapper that can fail or race, and
// an AuthService over it (test_core.cpp, test_core_throttle.cpp). Not in an anonymous namespace:
// GoogleTest requires one fixture type per suite name across the executable's files.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "authd/core/auth_service.hpp"

namespace authd::core {

using store::Event;

inline const std::string k_md5 = "5f4dcc3b5aa765d61d8327deb882cf99"; // "password"

// Delegates to the memory store; can fail every call, or change the hash right before a swap.
class TestStore : public store::CredentialStore {
public:
  std::unique_ptr<store::CredentialStore> inner = store::make_memory_store();
  bool failing = false;
  std::function<void()> before_swap;

  Result<int> migrate() override { return inner->migrate(); }
  Result<int> check_schema() override { return inner->check_schema(); }
  Status ping() override { return failing ? fail(ErrorKind::temporary, "down") : inner->ping(); }
  Result<std::optional<store::Account>> find(std::string_view u) override {
    if (failing) {
      return fail(ErrorKind::temporary, "store down");
    }
    return inner->find(u);
  }
  Result<std::int64_t> create(const store::NewAccount& a, const Event& e) override { return inner->create(a, e); }
  Result<bool> swap_hash(std::int64_t id, std::string_view x, std::string_view n, const Event& e) override {
    if (before_swap) {
      before_swap();
    }
    if (failing) {
      return fail(ErrorKind::temporary, "store down");
    }
    return inner->swap_hash(id, x, n, e);
  }
  Status set_hash(std::string_view u, std::string_view h, const Event& e) override { return inner->set_hash(u, h, e); }
  Status set_enabled(std::string_view u, bool on, const Event& e) override { return inner->set_enabled(u, on, e); }
  Status remove(std::string_view u, const Event& e) override { return inner->remove(u, e); }
  Status grant(std::string_view u, std::string_view s, const Event& e) override { return inner->grant(u, s, e); }
  Status revoke(std::string_view u, std::string_view s, const Event& e) override { return inner->revoke(u, s, e); }
  Status record_login(const store::Login& l, std::int64_t forget_before) override { return inner->record_login(l, forget_before); }
  Result<std::vector<store::RecentLogin>> recent_logins(std::string_view u, std::size_t limit) override {
    return inner->recent_logins(u, limit);
  }
  Status remember_source(std::int64_t id, std::string_view s, std::int64_t at, std::int64_t before) override {
    return inner->remember_source(id, s, at, before);
  }
  Result<bool> familiar(std::int64_t id, std::string_view s, std::int64_t since) override {
    if (failing) {
      return fail(ErrorKind::temporary, "store down");
    }
    return inner->familiar(id, s, since);
  }
  Status for_each(const std::function<bool(const store::Account&)>& v) override { return inner->for_each(v); }
  Result<std::int64_t> add_app_password(std::string_view u, const store::NewAppPassword& a, const Event& e) override {
    return inner->add_app_password(u, a, e);
  }
  Result<std::vector<store::AppPassword>> app_passwords(std::string_view u) override { return inner->app_passwords(u); }
  Status revoke_app_password(std::string_view u, std::int64_t id, const Event& e) override {
    return inner->revoke_app_password(u, id, e);
  }
  Result<std::optional<store::AppPassword>> find_app_password(std::int64_t id, std::string_view v) override {
    if (failing) {
      return fail(ErrorKind::temporary, "store down");
    }
    return inner->find_app_password(id, v);
  }
  Status app_password_used(std::int64_t id, std::string_view s, std::string_view ip, std::int64_t at) override {
    return inner->app_password_used(id, s, ip, at);
  }
  Status set_main_password_services(std::string_view u, const std::optional<std::vector<std::string>>& s,
                                    const Event& e) override {
    return inner->set_main_password_services(u, s, e);
  }
  Result<std::vector<Event>> events(std::string_view u, std::size_t n) override { return inner->events(u, n); }
  Status import(const std::function<bool(store::ImportRecord&)>& next, bool update, const std::string& actor,
                const std::function<void(const store::ImportRecord&, store::ImportOutcome)>& done) override {
    return inner->import(next, update, actor, done);
  }
};

inline config::Config test_config() {
  config::Config c;
  c.policy.bcrypt_cost = 4;
  c.core.verify_threads = 2;
  c.throttle.initial_ms = 100;
  c.throttle.max_ms = 400;
  c.throttle.account_free_failures = 3;
  return c;
}

class Core : public ::testing::Test {
protected:
  void SetUp() override { rebuild(); }
  void rebuild() {
    m_service.reset();
    m_policy = std::make_unique<policy::HashPolicy>(m_config.policy);
    m_service = std::make_unique<AuthService>(m_store, *m_policy, m_config, m_metrics);
  }
  void add(const std::string& user, const std::string& hash, std::vector<std::string> services = {}, bool enabled = true) {
    store::NewAccount n;
    n.username = user;
    n.password_hash = hash;
    n.services = std::move(services);
    n.enabled = enabled;
    ASSERT_TRUE(m_store.create(n, Event{0, "", "create", "test", "", "", ""}));
  }
  AuthResult login(const std::string& user, const std::string& pw, const std::string& service = "imap",
                   const std::string& ip = "192.0.2.1") {
    const SecretString secret(pw);
    return m_service->authenticate({user, secret, service, ip});
  }
  std::string stored(const std::string& user) { return (**m_store.find(user)).password_hash; }

  config::Config m_config = test_config();
  TestStore m_store;
  Metrics m_metrics;
  std::unique_ptr<policy::HashPolicy> m_policy;
  std::unique_ptr<AuthService> m_service;
};

} // namespace authd::core
