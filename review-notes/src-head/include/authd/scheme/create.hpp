#pragma once
// Creating new hashes: only the current schemes, only with explicit parameters.
#include <cstdint>
#include <string>

#include "authd/util/result.hpp"
#include "authd/util/secret.hpp"

namespace authd::scheme {

inline constexpr int k_bcrypt_min_cost = 4;
inline constexpr int k_bcrypt_max_cost = 31;
inline constexpr std::size_t k_bcrypt_max_password = 72; // bcrypt ignores bytes beyond 72

// "$2y$NN$..." via crypt_gensalt_rn("$2y$", cost) + crypt_rn. cost outside 4..31 = invalid_input.
// Passwords over 72 bytes are hashed as bcrypt does (truncated); callers that set a password
// decide whether to refuse them first.
Result<std::string> bcrypt_hash(SecretView password, int cost);

struct Argon2Params {
  std::uint32_t ops = 2;           // t (iterations); libsodium's INTERACTIVE
  std::uint32_t mem_kib = 65536;   // m in KiB (64 MiB); libsodium's INTERACTIVE
};
// "$argon2id$v=19$m=..,t=..,p=1$..." via crypto_pwhash_str_alg.
Result<std::string> argon2id_hash(SecretView password, const Argon2Params& params);

// Parsed parameters of stored bcrypt / argon2 values, for the policy.
struct BcryptInfo {
  char subtype = 'y'; // a, b, x or y
  int cost = 0;
};
Result<BcryptInfo> bcrypt_info(std::string_view body);

struct Argon2Info {
  bool id = true; // argon2id (true) or argon2i
  std::uint32_t version = 19;
  std::uint32_t mem_kib = 0;
  std::uint32_t ops = 0;
  std::uint32_t lanes = 0;
};
Result<Argon2Info> argon2_info(std::string_view body);

} // namespace authd::scheme

namespace authd::scheme {
struct Parsed;
// Wraps an identified legacy value in bcrypt at `cost` (format: src/scheme/wrapped.cpp).
// ErrorKind::unsupported when the value's scheme cannot be wrapped.
Result<std::string> wrap_hash(const Parsed& legacy, int cost);
// The legacy scheme's name inside a wrapped value ("plain_md5" for "$authdwrap$plain_md5$...").
Result<std::string_view> wrapped_inner_name(std::string_view body);
} // namespace authd::scheme
