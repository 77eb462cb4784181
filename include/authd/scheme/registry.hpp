#pragma once
// The one explicit table of schemes and the classifier that routes a stored value to one of them.
// The classifier runs before any library sees the value: a bare hex or base64 digest never
// reaches crypt_rn (libxcrypt would read it as DES and silently never match).
#include <span>
#include <string_view>

#include "authd/scheme/scheme.hpp"

namespace authd::scheme {

// Interpretations of prefix-less values that are ambiguous; they are facts about the data that
// the operator configures (shared/docs/HASHES.md §3).
struct IdentifyOptions {
  bool bare_hex_md5 = true;     // 32 hex digits = unsalted MD5
  bool bare_base64_md5 = false; // 24 base64 chars decoding to 16 bytes = unsalted MD5
  bool bare_des = false;        // 13 chars [./0-9A-Za-z] = traditional DES crypt
  bool bare_mysql323 = true;    // 16 hex digits = MySQL OLD_PASSWORD()
};

// Routes and validates: the Parsed value, or ErrorKind::invalid_hash ("unknown scheme" or the
// scheme's own syntax complaint). Empty, "*" and "!"-prefixed values are locked accounts and
// identify as invalid too.
Result<Parsed> identify(std::string_view stored, const IdentifyOptions& options = {});

// Look a scheme up by its stable name (nullptr when unknown).
const Scheme* find_scheme(std::string_view name);

// Every built-in scheme, in classification order.
std::span<const Scheme* const> all_schemes();

// Schemes that create hashes.
const Scheme& bcrypt_scheme();
const Scheme& argon2id_scheme();

// Largest password any scheme accepts; longer ones are refused before hashing.
inline constexpr std::size_t k_max_password_bytes = 1024;

// A stored value that means "no password, account locked": empty, "!…" (shadow, usermod -L),
// "*…" ("*", "*0", "*1", Solaris "*LK*"/"*NP*"; not a MySQL 4.1 "*"+40 hex), and the same behind
// {CRYPT}. A login against it is a rejection.
bool locked_marker(std::string_view stored) noexcept;

// Front-door check for every password: not longer than k_max_password_bytes, no NUL byte.
Status check_password(SecretView password);

} // namespace authd::scheme
