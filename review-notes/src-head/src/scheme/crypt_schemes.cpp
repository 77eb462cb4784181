// crypt(3) schemes verified by libxcrypt's crypt_rn (verify only; new hashes are bcrypt/argon2id):
//   md5_crypt     $1$<salt<=8>$<22>                 (also {MD5-CRYPT}, {MD5}, {CRYPT})
//   sha256_crypt  $5$[rounds=N$]<salt<=16>$<43>      ({SHA256-CRYPT})
//   sha512_crypt  $6$[rounds=N$]<salt<=16>$<86>      ({SHA512-CRYPT})
//   yescrypt      $y$<params>$<salt>$<43>
//   gost_yescrypt $gy$<params>$<salt>$<43>
//   scrypt        $7$<params+salt>$<43>
//   des_crypt     <2 salt><11>, 13 chars            ({CRYPT}, {DES-CRYPT}; bare only if enabled)
// Source: libxcrypt crypt(5). Every value is syntax-checked here before crypt_rn sees it.
#include <vector>

#include "internal.hpp"

namespace authd::scheme::detail {
namespace {

std::vector<std::string_view> split_dollar(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '$') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

bool valid_md5_crypt(std::string_view s) {
  const auto f = split_dollar(s);
  return f.size() == 4 && f[0].empty() && f[1] == "1" && f[2].size() <= 8 && all_crypt64(f[2]) &&
         f[3].size() == 22 && all_crypt64(f[3]);
}

bool valid_sha_crypt(std::string_view s, std::string_view id, std::size_t hash_len) {
  auto f = split_dollar(s);
  if (f.size() == 5 && f[2].starts_with("rounds=") && all_digits(f[2].substr(7))) {
    f.erase(f.begin() + 2);
  }
  return f.size() == 4 && f[0].empty() && f[1] == id && !f[2].empty() && f[2].size() <= 16 &&
         all_crypt64(f[2]) && f[3].size() == hash_len && all_crypt64(f[3]);
}

bool valid_yescrypt(std::string_view s, std::string_view id) {
  const auto f = split_dollar(s);
  return f.size() == 5 && f[0].empty() && f[1] == id && !f[2].empty() && all_crypt64(f[2]) &&
         all_crypt64(f[3]) && f[4].size() == 43 && all_crypt64(f[4]);
}

bool valid_scrypt(std::string_view s) {
  const auto f = split_dollar(s);
  return f.size() == 4 && f[0].empty() && f[1] == "7" && f[2].size() >= 11 &&
         all_crypt64(f[2]) && f[3].size() == 43 && all_crypt64(f[3]);
}

bool valid_des(std::string_view s) { return s.size() == 13 && all_crypt64(s); }

class CryptScheme final : public Scheme {
public:
  using Validator = bool (*)(std::string_view);
  CryptScheme(std::string_view name, Validator valid) : m_name(name), m_valid(valid) {}

  std::string_view name() const override { return m_name; }

  Status validate(const Parsed& value) const override {
    if (!m_valid(value.body)) {
      return fail(ErrorKind::invalid_hash, "malformed " + std::string(m_name) + " hash");
    }
    return {};
  }

  Result<bool> verify(SecretView password, const Parsed& value) const override {
    if (auto ok = validate(value); !ok) {
      return tl::unexpected(ok.error());
    }
    return compare_computed(crypt_compute(password, value.body), value.body);
  }

  Result<WrapParts> wrap_parts(const Parsed& value) const override {
    if (auto ok = validate(value); !ok) {
      return tl::unexpected(ok.error());
    }
    const std::string_view body = value.body;
    const std::size_t cut = body.starts_with('$') ? body.rfind('$') + 1 : 2;
    return WrapParts{std::string(body.substr(0, cut)), std::string(body)};
  }

  Result<SecretString> wrap_derive(SecretView password, std::string_view setting) const override {
    return crypt_derive(password, setting);
  }

private:
  std::string_view m_name;
  Validator m_valid;
};

} // namespace

const Scheme& md5_crypt_scheme() {
  static const CryptScheme s("md5_crypt", valid_md5_crypt);
  return s;
}
const Scheme& sha256_crypt() {
  static const CryptScheme s("sha256_crypt", [](std::string_view v) { return valid_sha_crypt(v, "5", 43); });
  return s;
}
const Scheme& sha512_crypt() {
  static const CryptScheme s("sha512_crypt", [](std::string_view v) { return valid_sha_crypt(v, "6", 86); });
  return s;
}
const Scheme& yescrypt() {
  static const CryptScheme s("yescrypt", [](std::string_view v) { return valid_yescrypt(v, "y"); });
  return s;
}
const Scheme& gost_yescrypt() {
  static const CryptScheme s("gost_yescrypt", [](std::string_view v) { return valid_yescrypt(v, "gy"); });
  return s;
}
const Scheme& scrypt() {
  static const CryptScheme s("scrypt", valid_scrypt);
  return s;
}
const Scheme& des_crypt() {
  static const CryptScheme s("des_crypt", valid_des);
  return s;
}

} // namespace authd::scheme::detail
