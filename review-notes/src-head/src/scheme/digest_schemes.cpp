// Unsalted and salted message-digest schemes (verify only, all legacy), digests from OpenSSL EVP,
// comparisons in constant time:
//   plain_md5  bare 32 hex (any case) / 24-char base64, {PLAIN-MD5} (hex), {LDAP-MD5} (base64),
//              {MD5} when the value is not "$1$..." (Dovecot falls back to plain MD5)
//   smd5       {SMD5}    base64(MD5(pw || salt) || salt)
//   sha1       {SHA} {SHA1}            ssha     {SSHA}
//   sha256     {SHA256}                ssha256  {SSHA256}
//   sha512     {SHA512}                ssha512  {SSHA512}
// Encoding as Dovecot decides it (password-scheme.c): a ".hex"/".b64"/".base64" suffix wins;
// otherwise a value of exactly twice the digest size in hex digits is hex, anything else base64
// (schemes whose default is hex try hex first).
#include <array>

#include "internal.hpp"

namespace authd::scheme::detail {
namespace {

struct DigestSpec {
  std::string_view name;
  const EVP_MD* (*md)();
  bool salted;
  Encoding default_encoding;
};

class DigestScheme final : public Scheme {
public:
  explicit DigestScheme(DigestSpec spec) : m_spec(spec) {}
  std::string_view name() const override { return m_spec.name; }

  Status validate(const Parsed& value) const override {
    if (auto raw = decode(value); !raw) {
      return tl::unexpected(raw.error());
    }
    return {};
  }

  Result<bool> verify(SecretView password, const Parsed& value) const override {
    auto raw = decode(value);
    if (!raw) {
      return tl::unexpected(raw.error());
    }
    const std::size_t size = digest_size();
    const std::string_view salt(reinterpret_cast<const char*>(raw->data()) + size, raw->size() - size);
    Bytes computed = digest(m_spec.md(), {password.reveal(), salt});
    raw->resize(size);
    const bool same = constant_time_equal(computed, *raw);
    wipe(computed.data(), computed.size());
    return same;
  }

  Result<WrapParts> wrap_parts(const Parsed& value) const override {
    auto raw = decode(value);
    if (!raw) {
      return tl::unexpected(raw.error());
    }
    const std::size_t size = digest_size();
    return WrapParts{hex_encode(raw->data() + size, raw->size() - size),
                     hex_encode(raw->data(), size)};
  }

  Result<SecretString> wrap_derive(SecretView password, std::string_view setting) const override {
    auto salt = hex_decode(setting);
    if (!salt || (!m_spec.salted && !salt->empty())) {
      return fail(ErrorKind::invalid_hash, "malformed wrapped digest setting");
    }
    const std::string_view salt_view(reinterpret_cast<const char*>(salt->data()), salt->size());
    Bytes computed = digest(m_spec.md(), {password.reveal(), salt_view});
    std::string hex = hex_encode(computed);
    SecretString canonical(hex);
    wipe(hex.data(), hex.size());
    wipe(computed.data(), computed.size());
    return canonical;
  }

private:
  std::size_t digest_size() const { return static_cast<std::size_t>(EVP_MD_get_size(m_spec.md())); }

  Encoding resolve(const Parsed& value) const {
    if (value.encoding != Encoding::none) {
      return value.encoding;
    }
    const bool hex = is_hex(value.body);
    if (hex && (value.body.size() == 2 * digest_size() || m_spec.default_encoding == Encoding::hex)) {
      return Encoding::hex;
    }
    return Encoding::base64;
  }

  // Raw bytes: the digest, followed by the salt for salted schemes.
  Result<Bytes> decode(const Parsed& value) const {
    const auto raw = resolve(value) == Encoding::hex ? hex_decode(value.body) : base64_decode(value.body);
    const std::size_t size = digest_size();
    if (!raw) {
      return fail(ErrorKind::invalid_hash, "malformed " + std::string(m_spec.name) + " value (bad encoding)");
    }
    const bool length_ok = m_spec.salted ? raw->size() > size : raw->size() == size;
    if (!length_ok) {
      return fail(ErrorKind::invalid_hash, "malformed " + std::string(m_spec.name) + " value (wrong length)");
    }
    return *raw;
  }

  DigestSpec m_spec;
};

// MySQL 4.1+ PASSWORD(): "*" + 40 hex of SHA1(SHA1(pw)) (MariaDB writes upper case).
class Mysql41Scheme final : public Scheme {
public:
  std::string_view name() const override { return "mysql41"; }
  Status validate(const Parsed& value) const override {
    if (value.body.size() != 41 || value.body[0] != '*' || !is_hex(value.body.substr(1))) {
      return fail(ErrorKind::invalid_hash, "malformed mysql41 hash");
    }
    return {};
  }
  Result<bool> verify(SecretView password, const Parsed& value) const override {
    if (auto ok = validate(value); !ok) {
      return tl::unexpected(ok.error());
    }
    return compare_computed(compute(password), ascii_upper(value.body.substr(1)));
  }
  Result<WrapParts> wrap_parts(const Parsed& value) const override {
    if (auto ok = validate(value); !ok) {
      return tl::unexpected(ok.error());
    }
    return WrapParts{"", ascii_upper(value.body.substr(1))};
  }
  Result<SecretString> wrap_derive(SecretView password, std::string_view setting) const override {
    if (!setting.empty()) {
      return fail(ErrorKind::invalid_hash, "mysql41 takes no setting");
    }
    std::string out = compute(password);
    SecretString canonical(out);
    wipe(out.data(), out.size());
    return canonical;
  }

private:
  static std::string compute(SecretView password) {
    Bytes inner = digest(EVP_sha1(), {password.reveal()});
    const Bytes outer = digest(EVP_sha1(), {std::string_view(reinterpret_cast<const char*>(inner.data()), inner.size())});
    wipe(inner.data(), inner.size());
    return hex_encode(outer, true);
  }
};

// MySQL OLD_PASSWORD() (pre-4.1): 16 hex digits.
class Mysql323Scheme final : public Scheme {
public:
  std::string_view name() const override { return "mysql323"; }
  Status validate(const Parsed& value) const override {
    if (value.body.size() != 16 || !is_hex(value.body)) {
      return fail(ErrorKind::invalid_hash, "malformed mysql323 hash");
    }
    return {};
  }
  Result<bool> verify(SecretView password, const Parsed& value) const override {
    if (auto ok = validate(value); !ok) {
      return tl::unexpected(ok.error());
    }
    return compare_computed(mysql323(password), ascii_lower(value.body));
  }
  Result<WrapParts> wrap_parts(const Parsed& value) const override {
    if (auto ok = validate(value); !ok) {
      return tl::unexpected(ok.error());
    }
    return WrapParts{"", ascii_lower(value.body)};
  }
  Result<SecretString> wrap_derive(SecretView password, std::string_view) const override {
    std::string out = mysql323(password);
    SecretString canonical(out);
    wipe(out.data(), out.size());
    return canonical;
  }
};

// {PLAIN} / {CLEARTEXT}: the password itself (optionally .b64-encoded). Not wrappable:
// wrap-legacy hashes such values directly.
class PlainScheme final : public Scheme {
public:
  std::string_view name() const override { return "plain"; }
  Status validate(const Parsed& value) const override {
    if (value.encoding == Encoding::base64 && !base64_decode(value.body)) {
      return fail(ErrorKind::invalid_hash, "malformed base64 in {PLAIN} value");
    }
    if (value.encoding == Encoding::hex && !hex_decode(value.body)) {
      return fail(ErrorKind::invalid_hash, "malformed hex in {PLAIN} value");
    }
    return {};
  }
  Result<bool> verify(SecretView password, const Parsed& value) const override {
    if (auto ok = validate(value); !ok) {
      return tl::unexpected(ok.error());
    }
    if (value.encoding == Encoding::none) {
      return constant_time_equal(password.reveal(), value.body);
    }
    Bytes raw = value.encoding == Encoding::hex ? *hex_decode(value.body) : *base64_decode(value.body);
    const bool same = constant_time_equal(password.reveal(), std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
    wipe(raw.data(), raw.size());
    return same;
  }
};

const DigestScheme k_plain_md5({"plain_md5", EVP_md5, false, Encoding::hex});
const DigestScheme k_smd5({"smd5", EVP_md5, true, Encoding::base64});
const DigestScheme k_sha1({"sha1", EVP_sha1, false, Encoding::base64});
const DigestScheme k_ssha({"ssha", EVP_sha1, true, Encoding::base64});
const DigestScheme k_sha256({"sha256", EVP_sha256, false, Encoding::base64});
const DigestScheme k_ssha256({"ssha256", EVP_sha256, true, Encoding::base64});
const DigestScheme k_sha512({"sha512", EVP_sha512, false, Encoding::base64});
const DigestScheme k_ssha512({"ssha512", EVP_sha512, true, Encoding::base64});
const Mysql41Scheme k_mysql41;
const Mysql323Scheme k_mysql323;
const PlainScheme k_plain;

const std::array<const Scheme*, 11> k_digest_schemes = {
    &k_plain_md5, &k_smd5, &k_sha1, &k_ssha, &k_sha256, &k_ssha256,
    &k_sha512, &k_ssha512, &k_mysql41, &k_mysql323, &k_plain};

} // namespace

std::string mysql323(SecretView password) {
  unsigned long nr = 1345345333UL;
  unsigned long add = 7;
  unsigned long nr2 = 0x12345671UL;
  for (char ch : password.reveal()) {
    if (ch == ' ' || ch == '\t') {
      continue; // OLD_PASSWORD() skips blanks
    }
    const unsigned long tmp = static_cast<unsigned char>(ch);
    nr ^= (((nr & 63) + add) * tmp) + (nr << 8);
    nr2 += (nr2 << 8) ^ nr;
    add += tmp;
  }
  const unsigned long mask = (1UL << 31) - 1;
  std::array<unsigned char, 8> raw{};
  const unsigned long parts[2] = {nr & mask, nr2 & mask};
  for (std::size_t i = 0; i < 8; ++i) {
    raw[i] = static_cast<unsigned char>((parts[i / 4] >> (8 * (3 - i % 4))) & 0xff);
  }
  return hex_encode(raw.data(), raw.size());
}

const Scheme* digest_scheme(std::string_view name) {
  for (const Scheme* s : k_digest_schemes) {
    if (s->name() == name) {
      return s;
    }
  }
  return nullptr;
}

std::span<const Scheme* const> digest_schemes() { return k_digest_schemes; }

} // namespace authd::scheme::detail
