#pragma once
// The hash policy (passlib's CryptContext, for authd): which scheme new hashes use and with what
// parameters, the status of any stored value against that target, and verify-and-update.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "authd/scheme/create.hpp"
#include "authd/scheme/registry.hpp"

namespace authd::policy {

enum class Target { bcrypt, argon2id };

struct PolicyConfig {
  Target target = Target::bcrypt;
  int bcrypt_cost = 12;
  scheme::Argon2Params argon2{};
  scheme::IdentifyOptions identify{};
};

// current: the target family at or above policy parameters ($2y$/$2b$ bcrypt at >= cost, or
//          argon2id at >= memory and ops), whichever of the two is the target;
// weak:    the right family below policy ($2a$, a lower bcrypt cost, argon2i, cheaper argon2id);
// legacy:  every other scheme (MD5 in all its forms, SHA, crypt(3) families, $2x$, plaintext);
// wrapped: a legacy hash wrapped in bcrypt by authctl wrap-legacy;
// invalid: malformed or of no known scheme.
enum class HashStatus { current, weak, legacy, wrapped, invalid };
const char* to_string(HashStatus status) noexcept;
const char* to_string(Target target) noexcept;

struct Classification {
  std::string scheme;  // stable scheme name ("unknown" when invalid); wrapped: "wrap_<legacy>"
  HashStatus status = HashStatus::invalid;
  std::string error;   // why it is invalid (no hash material)
};

struct VerifyOutcome {
  bool matched = false;
  std::optional<std::string> new_hash; // set when matched and the stored value needs an update
  std::string scheme;                  // scheme of the stored value
  HashStatus status = HashStatus::invalid;
};

class HashPolicy {
public:
  explicit HashPolicy(PolicyConfig config = {});
  ~HashPolicy();
  HashPolicy(const HashPolicy&) = delete;
  HashPolicy& operator=(const HashPolicy&) = delete;

  const PolicyConfig& config() const noexcept { return m_config; }

  Classification classify(std::string_view stored) const;
  bool needs_update(std::string_view stored) const;

  // A new hash of the password in the target scheme — argon2id for a password longer than
  // bcrypt's 72 bytes under a bcrypt target, so no migration ever truncates a password.
  Result<std::string> hash(SecretView password) const;

  // Verifies; on a match with needs_update, also returns the target-scheme rehash.
  // Errors: invalid_input (password refused up front), invalid_hash (stored value unusable),
  // internal. With pad_timing, a mismatch against a hash cheaper than the target also runs
  // dummy_verify(), so a wrong password costs about one target verify whatever the scheme.
  Result<VerifyOutcome> verify_and_update(SecretView password, std::string_view stored,
                                          bool pad_timing = false) const;

  // One verify against a target-scheme hash of a random password: equal cost for unknown users,
  // disabled accounts and accounts without a usable hash. Always "no match".
  void dummy_verify(SecretView password) const;

private:
  HashStatus status_of(const scheme::Parsed& parsed) const;
  static std::string scheme_name(const scheme::Parsed& parsed);
  static bool truncated_match(const scheme::Parsed& parsed, SecretView password);
  const std::string& dummy_hash() const;

  // Sleeps until a mismatch that took `spent` has taken as long as a target verify.
  void pad_to_target(SecretView password, std::chrono::nanoseconds spent) const;
  PolicyConfig m_config;
  struct Dummy;
  std::unique_ptr<Dummy> m_dummy;
};

} // namespace authd::policy
