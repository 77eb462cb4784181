// apr1: Apache's htpasswd -m format "$apr1$<salt<=8>$<22>" — md5crypt with the magic "$apr1$"
// in place of "$1$" (apr-util crypto/apr_md5.c). No library implements it (libxcrypt and
// Dovecot do not), so this file holds the md5crypt algorithm over OpenSSL's MD5; with the "$1$"
// magic it reproduces libxcrypt exactly, which the unit tests check.
#include <array>
#include <memory>

#include "internal.hpp"

namespace authd::scheme::detail {
namespace {

constexpr std::string_view k_itoa64 =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

class Md5 {
public:
  Md5() : m_ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free) { EVP_DigestInit_ex(m_ctx.get(), EVP_md5(), nullptr); }
  void update(const void* data, std::size_t size) { EVP_DigestUpdate(m_ctx.get(), data, size); }
  void update(std::string_view s) { update(s.data(), s.size()); }
  void finish(std::array<unsigned char, 16>& out) {
    unsigned int len = 0;
    EVP_DigestFinal_ex(m_ctx.get(), out.data(), &len);
  }

private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> m_ctx;
};

void to64(std::string& out, unsigned long value, int chars) {
  while (chars-- > 0) {
    out.push_back(k_itoa64[value & 0x3f]);
    value >>= 6;
  }
}

unsigned long triple(const std::array<unsigned char, 16>& f, int a, int b, int c) {
  const auto at = [&](int i) { return static_cast<unsigned long>(f[static_cast<std::size_t>(i)]); };
  return (at(a) << 16) | (at(b) << 8) | at(c);
}

std::string_view salt_of(std::string_view salt) {
  salt = salt.substr(0, salt.find('$'));
  return salt.substr(0, 8);
}

} // namespace

std::string md5_crypt(SecretView password, std::string_view raw_salt, std::string_view magic) {
  const std::string_view pw = password.reveal();
  const std::string_view salt = salt_of(raw_salt);
  std::array<unsigned char, 16> final{};
  {
    Md5 alt;
    alt.update(pw);
    alt.update(salt);
    alt.update(pw);
    alt.finish(final);
  }
  Md5 ctx;
  ctx.update(pw);
  ctx.update(magic);
  ctx.update(salt);
  for (std::size_t left = pw.size(); left > 0; left -= std::min<std::size_t>(left, 16)) {
    ctx.update(final.data(), std::min<std::size_t>(left, 16));
  }
  final.fill(0);
  for (std::size_t i = pw.size(); i != 0; i >>= 1) {
    ctx.update((i & 1) != 0 ? static_cast<const void*>(final.data()) : pw.data(), 1);
  }
  ctx.finish(final);
  for (int i = 0; i < 1000; ++i) {
    Md5 round;
    const bool odd = (i & 1) != 0;
    odd ? round.update(pw) : round.update(final.data(), 16);
    if (i % 3 != 0) {
      round.update(salt);
    }
    if (i % 7 != 0) {
      round.update(pw);
    }
    odd ? round.update(final.data(), 16) : round.update(pw);
    round.finish(final);
  }
  std::string out;
  out.reserve(magic.size() + salt.size() + 23);
  out.append(magic).append(salt).push_back('$');
  to64(out, triple(final, 0, 6, 12), 4);
  to64(out, triple(final, 1, 7, 13), 4);
  to64(out, triple(final, 2, 8, 14), 4);
  to64(out, triple(final, 3, 9, 15), 4);
  to64(out, triple(final, 4, 10, 5), 4);
  to64(out, final[11], 2);
  wipe(final.data(), final.size());
  return out;
}

namespace {

constexpr std::string_view k_apr1_magic = "$apr1$";

class Apr1Scheme final : public Scheme {
public:
  std::string_view name() const override { return "apr1"; }

  Status validate(const Parsed& value) const override {
    std::string_view rest = value.body;
    const bool ok = rest.starts_with(k_apr1_magic) &&
                    [&] {
                      rest.remove_prefix(k_apr1_magic.size());
                      const std::size_t d = rest.find('$');
                      return d != std::string_view::npos && d <= 8 &&
                             rest.find('$', d + 1) == std::string_view::npos &&
                             rest.size() - d - 1 == 22 && all_crypt64(rest.substr(d + 1));
                    }();
    if (!ok) {
      return fail(ErrorKind::invalid_hash, "malformed apr1 hash");
    }
    return {};
  }

  Result<bool> verify(SecretView password, const Parsed& value) const override {
    if (auto ok = validate(value); !ok) {
      return tl::unexpected(ok.error());
    }
    const std::string_view salt = value.body.substr(k_apr1_magic.size());
    return compare_computed(md5_crypt(password, salt, k_apr1_magic), value.body);
  }

  Result<WrapParts> wrap_parts(const Parsed& value) const override {
    if (auto ok = validate(value); !ok) {
      return tl::unexpected(ok.error());
    }
    return WrapParts{std::string(value.body.substr(0, value.body.rfind('$') + 1)),
                     std::string(value.body)};
  }

  Result<SecretString> wrap_derive(SecretView password, std::string_view setting) const override {
    if (!setting.starts_with(k_apr1_magic)) {
      return fail(ErrorKind::invalid_hash, "malformed apr1 setting");
    }
    std::string out = md5_crypt(password, setting.substr(k_apr1_magic.size()), k_apr1_magic);
    SecretString canonical(out);
    wipe(out.data(), out.size());
    return canonical;
  }
};

} // namespace

const Scheme& apr1() {
  static const Apr1Scheme s;
  return s;
}

} // namespace authd::scheme::detail
