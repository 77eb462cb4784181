#include "authd/policy/hash_policy.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <sodium.h>

#include "authd/util/encoding.hpp"

namespace authd::policy {

const char* to_string(HashStatus status) noexcept {
  switch (status) {
  case HashStatus::current: return "current";
  case HashStatus::weak: return "weak";
  case HashStatus::legacy: return "legacy";
  case HashStatus::wrapped: return "wrapped";
  case HashStatus::invalid: return "invalid";
  }
  return "invalid";
}

const char* to_string(Target target) noexcept {
  return target == Target::bcrypt ? "bcrypt" : "argon2id";
}

constexpr std::size_t k_bcrypt_max_bytes = 72;

struct HashPolicy::Dummy {
  std::once_flag once;
  std::string hash;
  // How long one verify at the target costs here: a moving average of the dummy verifies.
  std::atomic<std::int64_t> target_ns{0};
  void learn(std::chrono::nanoseconds took) {
    const std::int64_t old = target_ns.load(std::memory_order_relaxed);
    target_ns.store(old == 0 ? took.count() : (old * 7 + took.count()) / 8, std::memory_order_relaxed);
  }
};

HashPolicy::HashPolicy(PolicyConfig config)
    : m_config(std::move(config)), m_dummy(std::make_unique<Dummy>()) {}

HashPolicy::~HashPolicy() = default;

HashStatus HashPolicy::status_of(const scheme::Parsed& parsed) const {
  const std::string_view name = parsed.scheme->name();
  if (name == "wrapped") {
    return HashStatus::wrapped;
  }
  if (name == "bcrypt") {
    const auto info = scheme::bcrypt_info(parsed.body);
    if (info->subtype == 'x') {
      return HashStatus::legacy; // sign-extension bug label (CVE-2011-2483)
    }
    return (info->subtype == 'a' || info->cost < m_config.bcrypt_cost) ? HashStatus::weak
                                                                        : HashStatus::current;
  }
  if (name == "argon2id" || name == "argon2i") {
    const auto info = scheme::argon2_info(parsed.body);
    const bool strong_enough =
        info->id && info->mem_kib >= m_config.argon2.mem_kib && info->ops >= m_config.argon2.ops;
    return strong_enough ? HashStatus::current : HashStatus::weak;
  }
  return HashStatus::legacy;
}

// Did the stored scheme match only a part of this password? DES crypt reads 8 bytes, bcrypt 72,
// OLD_PASSWORD() skips spaces and tabs (a wrapper verifies like its inner scheme). Then the typed
// password is not known to be the user's: rehashing it would make a typo (or an attacker's
// variant) the password and lock the real one out, so such a value is left as it is.
bool HashPolicy::truncated_match(const scheme::Parsed& parsed, SecretView password) {
  std::string_view name = parsed.scheme->name();
  if (name == "wrapped") {
    name = scheme::wrapped_inner_name(parsed.body).value_or("");
  }
  const std::string_view pw = password.reveal();
  return (name == "des_crypt" && pw.size() > 8) || (name == "bcrypt" && pw.size() > k_bcrypt_max_bytes) ||
         (name == "mysql323" && pw.find_first_of(" \t") != std::string_view::npos);
}

// The stable name reported for a value: the scheme's, or "wrap_<legacy scheme>" for wrapped ones.
std::string HashPolicy::scheme_name(const scheme::Parsed& parsed) {
  if (parsed.scheme->name() == "wrapped") {
    return "wrap_" + std::string(*scheme::wrapped_inner_name(parsed.body));
  }
  return std::string(parsed.scheme->name());
}

Classification HashPolicy::classify(std::string_view stored) const {
  auto parsed = scheme::identify(stored, m_config.identify);
  if (!parsed) {
    return {"unknown", HashStatus::invalid, parsed.error().message};
  }
  return {scheme_name(*parsed), status_of(*parsed), ""};
}

bool HashPolicy::needs_update(std::string_view stored) const {
  return classify(stored).status != HashStatus::current;
}

Result<std::string> HashPolicy::hash(SecretView password) const {
  if (auto ok = scheme::check_password(password); !ok) {
    return tl::unexpected(ok.error());
  }
  // bcrypt reads only the first 72 bytes: a longer password in bcrypt would let in every password
  // that shares them. Such a password gets argon2id (no limit; current under either target).
  if (m_config.target == Target::argon2id || password.size() > k_bcrypt_max_bytes) {
    return scheme::argon2id_hash(password, m_config.argon2);
  }
  return scheme::bcrypt_hash(password, m_config.bcrypt_cost);
}

Result<VerifyOutcome> HashPolicy::verify_and_update(SecretView password, std::string_view stored,
                                                    bool pad_timing) const {
  if (auto ok = scheme::check_password(password); !ok) {
    return tl::unexpected(ok.error());
  }
  auto parsed = scheme::identify(stored, m_config.identify);
  if (!parsed) {
    return tl::unexpected(parsed.error());
  }
  VerifyOutcome outcome;
  outcome.status = status_of(*parsed);
  outcome.scheme = scheme_name(*parsed);
  const auto started = std::chrono::steady_clock::now();
  auto matched = parsed->scheme->verify(password, *parsed);
  if (!matched) {
    return tl::unexpected(matched.error());
  }
  outcome.matched = *matched;
  if (!outcome.matched) {
    // Legacy and weak values verify faster than the target: a mismatch is padded *up to* the
    // cost of a target verify (what an unknown user's dummy verify costs), so response time does
    // not tell a legacy or below-target account from an unknown or current one.
    // A current value of the other family (argon2id under a bcrypt target: long passwords) is
    // padded as well; a target-family one costs a target verify already (padding adds nothing).
    if (pad_timing) {
      pad_to_target(password, std::chrono::steady_clock::now() - started);
    }
    return outcome;
  }
  if (outcome.status != HashStatus::current && !truncated_match(*parsed, password)) {
    // A hash that cannot be made (a library limit) leaves the stored value as it is: the login
    // itself never fails because of the upgrade.
    if (auto fresh = hash(password)) {
      outcome.new_hash = std::move(*fresh);
    }
  }
  return outcome;
}

const std::string& HashPolicy::dummy_hash() const {
  std::call_once(m_dummy->once, [this] {
    unsigned char random[16];
    randombytes_buf(random, sizeof random);
    std::string hex = hex_encode(random, sizeof random);
    const SecretString password(hex);
    wipe(random, sizeof random);
    wipe(hex.data(), hex.size());
    auto fresh = hash(password);
    m_dummy->hash = fresh ? *fresh : std::string();
  });
  return m_dummy->hash;
}

void HashPolicy::dummy_verify(SecretView password) const {
  const std::string& stored = dummy_hash();
  if (stored.empty() || !scheme::check_password(password)) {
    return;
  }
  if (auto parsed = scheme::identify(stored)) {
    const auto started = std::chrono::steady_clock::now();
    (void)parsed->scheme->verify(password, *parsed);
    m_dummy->learn(std::chrono::steady_clock::now() - started);
  }
}

void HashPolicy::pad_to_target(SecretView password, std::chrono::nanoseconds spent) const {
  const std::chrono::nanoseconds target(m_dummy->target_ns.load(std::memory_order_relaxed));
  if (target.count() == 0) {
    dummy_verify(password); // not measured yet: a real target verify (and now it is)
  } else if (spent < target) {
    std::this_thread::sleep_for(target - spent); // no CPU spent on padding
  }
}

} // namespace authd::policy
