#pragma once
// Private to the scheme module: the scheme singletons and the shared helpers behind them.
#include <span>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "authd/scheme/scheme.hpp"
#include "authd/util/encoding.hpp"

namespace authd::scheme::detail {

// crypt_rn() with a heap struct crypt_data (32 KiB) that is wiped after use.
// ErrorKind::invalid_input: the phrase is too long for libxcrypt (ERANGE);
// ErrorKind::invalid_hash: libxcrypt rejects the setting.
Result<std::string> crypt_compute(SecretView phrase, std::string_view setting);
// The same, returned as a SecretString (the output stands in for the password when wrapping).
Result<SecretString> crypt_derive(SecretView phrase, std::string_view setting);

// Message digest over the concatenation of parts.
Bytes digest(const EVP_MD* md, std::initializer_list<std::string_view> parts);

bool is_crypt64(char c) noexcept;
bool all_crypt64(std::string_view s) noexcept;

// md5crypt with a configurable magic: "$1$" reproduces libxcrypt, "$apr1$" Apache's htpasswd -m.
std::string md5_crypt(SecretView password, std::string_view salt, std::string_view magic);

// MySQL OLD_PASSWORD(): 16 lower-case hex digits.
std::string mysql323(SecretView password);

// Verify helper shared by every "compute and compare" scheme: constant-time comparison.
Result<bool> compare_computed(Result<std::string> computed, std::string_view expected);

// The singletons, one per scheme, defined in the scheme's own file.
const Scheme& bcrypt();
const Scheme& argon2id();
const Scheme& argon2i();
const Scheme& md5_crypt_scheme();
const Scheme& sha256_crypt();
const Scheme& sha512_crypt();
const Scheme& yescrypt();
const Scheme& gost_yescrypt();
const Scheme& scrypt();
const Scheme& des_crypt();
const Scheme& apr1();
const Scheme& wrapped();
// Digest schemes by name: plain_md5, smd5, sha1, ssha, sha256, ssha256, sha512, ssha512, mysql41,
// mysql323, plain.
const Scheme* digest_scheme(std::string_view name);
std::span<const Scheme* const> digest_schemes();

} // namespace authd::scheme::detail
