#pragma once
// The core: one authenticate() for every front end. Flow: throttle → store lookup → (unknown,
// disabled, locked: dummy verify, rejected) → verify on the bounded pool (legacy mismatches padded
// to target cost) → on a match that needs it, rehash to the target and compare-and-swap it into
// the store (a lost race or a failed write is logged and counted, never a failed login) → grant
// check → ok. Any store failure is a temporary failure, never "rejected".
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "authd/config/config.hpp"
#include "authd/core/lanes.hpp"
#include "authd/core/metrics.hpp"
#include "authd/core/throttle.hpp"
#include "authd/core/verify_pool.hpp"
#include "authd/policy/hash_policy.hpp"
#include "authd/store/credential_store.hpp"

namespace authd::core {

enum class AuthStatus { ok, rejected, forbidden, throttled, tempfail };
const char* to_string(AuthStatus status) noexcept;

struct AuthRequest {
  std::string_view username;
  SecretView password;
  std::string_view service;   // empty: "default"
  std::string_view remote_ip; // empty: unknown (no per-IP throttling)
  // The self-service page: only the account's own password, never an app password, and the
  // main-password restriction does not apply (the page is where the user manages it).
  bool own_password_only = false;
};

struct AuthResult {
  AuthStatus status = AuthStatus::tempfail;
  std::string user;     // canonical user name (ok, forbidden)
  bool upgraded = false;
  std::string scheme;   // scheme of the stored hash that was verified
  std::optional<store::Account> account; // ok: home/uid/gid for the checkpassword reply
  std::chrono::milliseconds retry_after{0};
};

class AuthCache;

class AuthService {
public:
  AuthService(store::CredentialStore& store, const policy::HashPolicy& policy, const config::Config& config,
              Metrics& metrics);
  ~AuthService();

  AuthResult authenticate(const AuthRequest& request);
  // Which lane a login for this name from this address waits in (cheap: memory only): suspect
  // when the source, or the account from a source not known familiar, has recent failures.
  Lane lane(std::string_view username, std::string_view remote_ip) const;
  config::ThrottleConfig throttle_config() const { return m_throttle.config(); }
  // A SIGHUP reload: policy, throttle, cache and lookup settings for every login from now on (a
  // login already running finishes under the settings it started with). The verify pool's size
  // and queue stay.
  void reconfigure(const config::Config& config);
  // Userdb-style lookup without a password (checkpassword AUTHORIZED=1, delivery, doveadm):
  // ok / rejected (unknown; disabled unless [core] lookup_disabled) / tempfail. Grants are not
  // consulted: they decide logins, not existence.
  AuthResult lookup(std::string_view username);
  // Shutdown past the drain deadline: logins still waiting for a hashing thread end now as
  // temporary failures (nobody waits for their answers any more).
  void shed_waiting() noexcept { m_pool.shed(); }
  // A password change for an account whose current password was just verified: `fresh` hashed
  // to the target scheme on the verify pool (so a legacy account is current at once), written
  // with a password_change event by `actor`. Errors are temporary when retrying could help.
  Status change_password(const std::string& username, SecretView fresh, std::string_view actor);
  // The store answers (readiness).
  bool ready();
  // Recomputes the accounts-per-status gauges by streaming the store.
  Status refresh_gauges();

  // The policy of the last (re)load.
  std::shared_ptr<const policy::HashPolicy> current_policy() const;

private:
  AuthResult reject(const AuthRequest& request, const policy::HashPolicy& policy, const std::string& user,
                    SecretView password, const char* why, const std::string& source, Lane lane);
  // The throttle's verdict: zero, or how long this attempt must wait. May look the account up
  // (familiar sources are in the store); `found` keeps that lookup for the caller.
  std::chrono::milliseconds throttle_wait(const std::string& name, const std::string& source,
                                          std::optional<Result<std::optional<store::Account>>>& found, bool& familiar);
  void remember_success(const store::Account& account, const std::string& source);
  void record_login(const store::Login& login);
  Status verify(const std::function<void()>& job, Lane lane, std::string_view source = {});
  std::optional<AuthResult> app_password_login(const AuthRequest& request, const store::Account& account,
                                              const std::string& service, bool allowed, const std::string& source);
  void upgrade(const policy::HashPolicy& policy, const store::Account& account, const policy::VerifyOutcome& outcome,
               AuthResult& result);
  void log(const AuthRequest& request, const AuthResult& result, const char* detail) const;

  store::CredentialStore& m_store;
  mutable std::mutex m_policy_mutex;
  std::shared_ptr<const policy::HashPolicy> m_policy; // the caller's at first; a reload's own after
  Metrics& m_metrics;
  VerifyPool m_pool;
  Throttle m_throttle;
  std::atomic<std::int64_t> m_familiar_s;
  std::atomic<bool> m_lookup_disabled;
  std::unique_ptr<AuthCache> m_cache;
};

} // namespace authd::core
