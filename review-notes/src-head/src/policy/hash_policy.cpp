#include "authd/policy/hash_policy.hpp"

#include <mutex>

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

struct HashPolicy::Dummy {
  std::once_flag once;
  std::string hash;
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
  if (m_config.target == Target::argon2id) {
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
  auto matched = parsed->scheme->verify(password, *parsed);
  if (!matched) {
    return tl::unexpected(matched.error());
  }
  outcome.matched = *matched;
  if (!outcome.matched) {
    // Legacy and weak values verify much faster than the target: pad a mismatch with a target
    // verify, so response time does not reveal that the account is legacy.
    const bool cheap = outcome.status == HashStatus::legacy || outcome.status == HashStatus::weak;
    if (pad_timing && cheap) {
      dummy_verify(password);
    }
    return outcome;
  }
  if (outcome.status != HashStatus::current) {
    auto fresh = hash(password);
    if (!fresh) {
      return tl::unexpected(fresh.error());
    }
    outcome.new_hash = std::move(*fresh);
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
    (void)parsed->scheme->verify(password, *parsed);
  }
}

} // namespace authd::policy
