#include "authd/core/auth_service.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "auth_cache.hpp"
#include "authd/policy/app_password.hpp"

namespace authd::core {
namespace {

constexpr std::string_view k_default_service = "default";

// Log-safe rendering of client-supplied text: no control characters, bounded length.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 128)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f || c == '"' || c == '\\') ? '?' : c;
  }
  return s.size() > 128 ? out + "..." : out;
}


} // namespace

const char* to_string(AuthStatus status) noexcept {
  switch (status) {
  case AuthStatus::ok: return "ok";
  case AuthStatus::rejected: return "rejected";
  case AuthStatus::forbidden: return "forbidden";
  case AuthStatus::throttled: return "throttled";
  case AuthStatus::tempfail: return "tempfail";
  }
  return "tempfail";
}

AuthService::AuthService(store::CredentialStore& store, const policy::HashPolicy& policy, const config::Config& config,
                         Metrics& metrics)
    : m_store(store), m_policy(std::shared_ptr<const policy::HashPolicy>(), &policy), m_metrics(metrics),
      m_pool(config.core.verify_threads, config.core.queue_size), m_throttle(config.throttle),
      m_familiar_s(std::int64_t{config.throttle.familiar_days} * 86400), m_lookup_disabled(config.core.lookup_disabled) {
  // spdlog creates its registry on first use; make that happen here, before request threads log
  // concurrently (libspdlog is not instrumented for TSan, which would see that first use as a race).
  (void)spdlog::default_logger_raw();
  m_cache = std::make_unique<AuthCache>(std::chrono::seconds(config.core.cache_ttl_s), 10000, config.core.cache);
}

void AuthService::reconfigure(const config::Config& config) {
  auto policy = std::make_shared<const policy::HashPolicy>(config.policy);
  {
    std::lock_guard lock(m_policy_mutex);
    m_policy = std::move(policy);
  }
  m_throttle.reconfigure(config.throttle);
  m_familiar_s = std::int64_t{config.throttle.familiar_days} * 86400;
  m_lookup_disabled = config.core.lookup_disabled;
  m_cache->configure(config.core.cache, std::chrono::seconds(config.core.cache_ttl_s));
}

std::shared_ptr<const policy::HashPolicy> AuthService::current_policy() const {
  std::lock_guard lock(m_policy_mutex);
  return m_policy;
}

AuthService::~AuthService() = default;

void AuthService::log(const AuthRequest& r, const AuthResult& res, const char* detail) const {
  const auto level = res.status == AuthStatus::tempfail ? spdlog::level::warn : spdlog::level::info;
  spdlog::log(level, "login user=\"{}\" service={} ip={} scheme={} outcome={} upgraded={}{}{}", printable(r.username),
              printable(r.service.empty() ? k_default_service : r.service), printable(r.remote_ip.empty() ? "-" : r.remote_ip),
              res.scheme.empty() ? "-" : res.scheme, to_string(res.status), res.upgraded ? "yes" : "no",
              *detail != '\0' ? " detail=" : "", detail);
}

Status AuthService::verify(const std::function<void()>& job, Lane lane, std::string_view source) {
  const auto started = std::chrono::steady_clock::now();
  auto ok = m_pool.run(job, lane, source);
  if (!ok) {
    m_metrics.add("authd_verify_queue_full_total", {});
    m_metrics.add("authd_verify_shed_total", {{"lane", to_string(lane)}});
  } else {
    m_metrics.observe_verify(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  return ok;
}

// Unknown user, disabled or locked account: the same answer at the same cost as a wrong password.
AuthResult AuthService::reject(const AuthRequest& r, const policy::HashPolicy& policy, const std::string& user,
                               SecretView password, const char* why, const std::string& source, Lane lane) {
  AuthResult res;
  res.status = AuthStatus::rejected;
  const Status verified = verify([&] { policy.dummy_verify(password); }, lane, source);
  if (!verified) {
    res.status = AuthStatus::tempfail;
    why = verified.error().message.c_str(); // "verify queue full", or "shutting down" at a stop
  } else {
    m_throttle.failure(source, user, m_throttle.pair_hash(user, password), std::chrono::steady_clock::now());
  }
  m_metrics.login(r.service.empty() ? k_default_service : std::string_view(r.service), "none", to_string(res.status));
  log(r, res, why);
  return res;
}

Lane AuthService::lane(std::string_view username, std::string_view remote_ip) const {
  const auto name = store::normalize_username(username);
  return m_throttle.suspect(Throttle::source_of(remote_ip), name ? *name : std::string(username)) ? Lane::suspect
                                                                                                   : Lane::priority;
}

std::chrono::milliseconds AuthService::throttle_wait(const std::string& name, const std::string& source,
                                                     std::optional<Result<std::optional<store::Account>>>& found,
                                                     bool& familiar) {
  familiar = m_throttle.known_familiar(name, source);
  if (!familiar && m_throttle.suspect(source, name)) {
    // A penalty is in play: does the account know this source? (The store remembers across
    // restarts and for every authd on the database; unknown names have no familiar sources.)
    found = m_store.find(name);
    if (*found && **found) {
      auto known = m_store.familiar((***found).id, Throttle::familiar_key(source), store::now_seconds() - m_familiar_s);
      familiar = known && *known;
      if (familiar) {
        m_throttle.remember_familiar(name, source);
      }
    }
  }
  const auto now = std::chrono::steady_clock::now();
  const bool capped = familiar && m_throttle.account_clean(name, now);
  if (const auto wait = m_throttle.admit_source(source, now, capped); wait.count() > 0) {
    return wait;
  }
  return familiar ? std::chrono::milliseconds(0) : m_throttle.admit_account(name, now);
}

void AuthService::remember_success(const store::Account& account, const std::string& source) {
  m_throttle.success(source, account.username);
  const auto now = store::now_seconds();
  if (auto ok = m_store.remember_source(account.id, Throttle::familiar_key(source), now, now - m_familiar_s); !ok) {
    m_metrics.add("authd_store_errors_total", {{"op", "remember_source"}});
  }
}

AuthResult AuthService::authenticate(const AuthRequest& r) {
  const std::string service(r.service.empty() ? k_default_service : r.service);
  const std::string source = Throttle::source_of(r.remote_ip);
  const auto name = store::normalize_username(r.username);
  const auto policy = current_policy(); // one policy for the whole login, even across a reload
  // An empty password never logs in (a stored hash of "" is not a password the user chose).
  if (!name || r.password.empty() || !scheme::check_password(r.password)) {
    return reject(r, *policy, "", r.password, name ? "password refused" : "invalid user name", source, Lane::suspect);
  }
  AuthResult res;
  std::optional<Result<std::optional<store::Account>>> looked_up;
  bool familiar = false;
  if (const auto wait = throttle_wait(*name, source, looked_up, familiar); wait.count() > 0) {
    res.status = AuthStatus::throttled;
    res.retry_after = wait;
    log(r, res, "");
    return res;
  }
  const Lane lane = !familiar && m_throttle.suspect(source, *name) ? Lane::suspect : Lane::priority;
  auto found = looked_up ? std::move(*looked_up) : m_store.find(*name);
  if (!found) {
    m_metrics.add("authd_store_errors_total", {{"op", "find"}});
    res.status = AuthStatus::tempfail;
    log(r, res, found.error().message.c_str());
    return res;
  }
  if (!*found || !(*found)->enabled || scheme::locked_marker((*found)->password_hash)) {
    return reject(r, *policy, *name, r.password, !*found ? "unknown user" : "disabled or locked", source, lane);
  }
  const store::Account& account = **found;
  res.user = account.username;
  const bool allowed = store::allowed(account, service);
  if (!r.own_password_only) {
    if (auto app = app_password_login(r, account, service, allowed, source)) {
      return std::move(*app);
    }
  }
  const bool own_password_accepted = r.own_password_only || store::main_password_allowed(account, service);
  // The cache only ever answers for the account's own password where that is still accepted: a
  // restriction set after the entry was made takes effect at once.
  if (allowed && own_password_accepted &&
      m_cache->hit(account.username, r.password, service, account.password_hash)) {
    res.status = AuthStatus::ok;
    res.scheme = "cached";
    res.account = account;
    m_metrics.add("authd_cache_hits_total", {});
    m_metrics.login(service, "cached", "ok");
    log(r, res, "");
    return res;
  }
  Result<policy::VerifyOutcome> outcome = fail(ErrorKind::internal, "not run");
  if (const Status verified =
          verify([&] { outcome = policy->verify_and_update(r.password, account.password_hash, true); }, lane, source);
      !verified) {
    res.status = AuthStatus::tempfail;
    log(r, res, verified.error().message.c_str());
    return res;
  }
  if (!outcome) {
    // A stored value authd cannot use is a data problem for the operator, not a wrong password.
    res.status = AuthStatus::tempfail;
    res.scheme = "invalid";
    log(r, res, ("unusable stored hash: " + outcome.error().message).c_str());
    return res;
  }
  res.scheme = outcome->scheme;
  if (outcome->matched && !own_password_accepted) {
    // The account's own password is kept off this service (app passwords only): the same answer
    // as a wrong password, counted like one. The hash still moves to the target scheme.
    upgrade(*policy, account, *outcome, res);
    m_throttle.failure(source, *name, m_throttle.pair_hash(*name, r.password), std::chrono::steady_clock::now());
    res.status = AuthStatus::rejected;
    res.user.clear();
    m_metrics.login(service, "none", to_string(res.status));
    log(r, res, "main password not accepted for this service");
    return res;
  }
  if (!outcome->matched) {
    m_throttle.failure(source, *name, m_throttle.pair_hash(*name, r.password), std::chrono::steady_clock::now());
    res.status = AuthStatus::rejected;
    res.user.clear();
  } else {
    upgrade(*policy, account, *outcome, res);
    res.status = allowed ? AuthStatus::ok : AuthStatus::forbidden;
    // Only a login the account may make counts (last login, familiar sources): a 403 does not.
    if (allowed) {
      remember_success(account, source);
      record_login({account.id, service, r.remote_ip, 0, store::now_seconds()});
    }
    if (allowed) {
      m_cache->remember(account.username, r.password, service,
                        res.upgraded ? *outcome->new_hash : account.password_hash);
    }
    res.account = account;
  }
  // The scheme only once the password was right: a rejected login is labelled like an unknown
  // user's, so /metrics does not tell accounts (or their hash schemes) from made-up names.
  m_metrics.login(service, outcome->matched ? res.scheme : "none", to_string(res.status));
  log(r, res, "");
  return res;
}

// An app password of the account, found by its verifier (an index lookup: microseconds, no
// bcrypt), not revoked, not expired and scoped to the service: the login succeeds (or is
// forbidden by the grants). Anything else (no such app password, revoked, expired, another
// service) is nullopt: the account's own password is tried next, so a wrong password costs one
// target-cost verify whatever it was.
std::optional<AuthResult> AuthService::app_password_login(const AuthRequest& r, const store::Account& account,
                                                          const std::string& service, bool allowed,
                                                          const std::string& source) {
  const auto verifier = policy::app_password_verifier(r.password);
  if (!verifier) {
    return std::nullopt;
  }
  auto app = m_store.find_app_password(account.id, *verifier);
  AuthResult res;
  if (!app) {
    m_metrics.add("authd_store_errors_total", {{"op", "find_app_password"}});
    res.status = AuthStatus::tempfail;
    log(r, res, app.error().message.c_str());
    return res;
  }
  const auto now = store::now_seconds();
  const auto scoped = [&](const store::AppPassword& a) {
    return std::find_if(a.services.begin(), a.services.end(), [&](const std::string& s) {
             return s == service || s == store::k_all_services;
           }) != a.services.end();
  };
  if (!*app || (*app)->revoked || ((*app)->expires_at && *(*app)->expires_at <= now) || !scoped(**app)) {
    return std::nullopt;
  }
  res.user = account.username;
  res.scheme = "app_password";
  res.account = account;
  res.status = allowed ? AuthStatus::ok : AuthStatus::forbidden;
  if (allowed) {
    remember_success(account, source);
    record_login({account.id, service, r.remote_ip, (*app)->id, now});
    if (auto ok = m_store.app_password_used((*app)->id, service, r.remote_ip, now); !ok) {
      m_metrics.add("authd_store_errors_total", {{"op", "app_password_used"}});
    }
  }
  m_metrics.login(service, "app_password", to_string(res.status));
  log(r, res, "");
  return res;
}

Status AuthService::change_password(const std::string& username, SecretView fresh, std::string_view actor) {
  const auto policy = current_policy();
  auto found = m_store.find(username);
  if (!found) {
    return tl::unexpected(found.error());
  }
  if (!*found) {
    return fail(ErrorKind::not_found, "no such user");
  }
  Result<std::string> hashed = fail(ErrorKind::internal, "not run");
  if (!verify([&] { hashed = policy->hash(fresh); }, Lane::priority)) {
    return fail(ErrorKind::temporary, "verify queue full");
  }
  if (!hashed) {
    return tl::unexpected(hashed.error());
  }
  const store::Event event{0, (*found)->username, "password_change", std::string(actor),
                           policy->classify((*found)->password_hash).scheme, policy->classify(*hashed).scheme, ""};
  return m_store.set_hash((*found)->username, *hashed, event);
}

void AuthService::record_login(const store::Login& login) {
  if (auto ok = m_store.record_login(login, login.at - store::k_recent_login_days * 86400); !ok) {
    m_metrics.add("authd_store_errors_total", {{"op", "record_login"}});
  }
}

void AuthService::upgrade(const policy::HashPolicy& policy, const store::Account& account,
                          const policy::VerifyOutcome& outcome, AuthResult& res) {
  if (!outcome.new_hash) {
    return;
  }
  const std::string to = policy.classify(*outcome.new_hash).scheme; // argon2id for a long password
  const store::Event event{0, account.username, "upgrade", "authd", outcome.scheme, to, ""};
  auto won = m_store.swap_hash(account.id, account.password_hash, *outcome.new_hash, event);
  const char* result = !won ? "failed" : (*won ? "written" : "cas_lost");
  m_metrics.add("authd_upgrades_total", {{"from", outcome.scheme}, {"result", result}});
  if (!won) {
    spdlog::warn("upgrade user=\"{}\" from={} failed (login still ok): {}", printable(account.username), outcome.scheme,
                 won.error().message);
  } else if (!*won) {
    spdlog::info("upgrade user=\"{}\" from={} lost the race (another login or a password change won)",
                 printable(account.username), outcome.scheme);
  }
  res.upgraded = won && *won;
}

AuthResult AuthService::lookup(std::string_view username) {
  AuthResult res;
  auto found = m_store.find(username);
  if (!found) {
    m_metrics.add("authd_store_errors_total", {{"op", "find"}});
    return res; // tempfail
  }
  // A disabled (or locked) account is still found by default: mail for it is delivered, never
  // bounced, while every login is refused (authenticate()).
  if (!*found || (!(*found)->enabled && !m_lookup_disabled)) {
    res.status = AuthStatus::rejected;
    return res;
  }
  res.user = (*found)->username;
  // The question is existence (delivery through LDA/LMTP, the indexer, doveadm, userdb lookups):
  // grants decide logins, not whether mail can be delivered — an imap-only account receives mail.
  res.status = AuthStatus::ok;
  res.account = **found;
  return res;
}

bool AuthService::ready() { return static_cast<bool>(m_store.ping()); }

Status AuthService::refresh_gauges() {
  std::map<std::string, double> counts = {{"current", 0}, {"weak", 0}, {"legacy", 0}, {"wrapped", 0}, {"invalid", 0}};
  const auto policy = current_policy();
  auto ok = m_store.for_each([&](const store::Account& a) {
    counts[policy::to_string(policy->classify(a.password_hash).status)] += 1;
    return true;
  });
  if (!ok) {
    m_metrics.add("authd_store_errors_total", {{"op", "gauges"}});
    return ok;
  }
  for (const auto& [status, n] : counts) {
    m_metrics.set("authd_accounts", {{"status", status}}, n);
  }
  return {};
}

} // namespace authd::core
