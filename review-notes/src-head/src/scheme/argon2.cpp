// argon2: PHC strings "$argon2id$v=19$m=<KiB>,t=<ops>,p=<lanes>$<salt>$<hash>" and "$argon2i$..."
// ({ARGON2ID}, {ARGON2I} prefixes accepted by the classifier). Verified and created with
// libsodium (crypto_pwhash_str_*), which takes a 128-byte buffer: longer strings are refused.
// Parameters are bounded before libsodium sees them, so a hostile stored value cannot make a
// verify allocate more than 1 GiB.
#include <cerrno>
#include <charconv>
#include <cstring>

#include <sodium.h>

#include "authd/scheme/create.hpp"
#include "internal.hpp"

namespace authd::scheme {
namespace {

constexpr std::uint32_t k_max_mem_kib = 1024 * 1024;

bool is_b64_nopad(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/';
    if (!ok) {
      return false;
    }
  }
  return !s.empty();
}

// Reads "<key>=<u32>" at the front of s and advances s past it.
bool take_param(std::string_view& s, std::string_view key, std::uint32_t& value) {
  if (!s.starts_with(key) || s.size() <= key.size() || s[key.size()] != '=') {
    return false;
  }
  s.remove_prefix(key.size() + 1);
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr == s.data() || s.front() == '0') {
    return false;
  }
  s.remove_prefix(static_cast<std::size_t>(ptr - s.data()));
  return true;
}

bool take_literal(std::string_view& s, std::string_view lit) {
  if (!s.starts_with(lit)) {
    return false;
  }
  s.remove_prefix(lit.size());
  return true;
}

} // namespace

Result<Argon2Info> argon2_info(std::string_view body) {
  Argon2Info info;
  std::string_view s = body;
  if (take_literal(s, "$argon2id$")) {
    info.id = true;
  } else if (take_literal(s, "$argon2i$")) {
    info.id = false;
  } else {
    return fail(ErrorKind::invalid_hash, "not an argon2i/argon2id hash");
  }
  const bool params = take_param(s, "v", info.version) && take_literal(s, "$") &&
                      take_param(s, "m", info.mem_kib) && take_literal(s, ",") &&
                      take_param(s, "t", info.ops) && take_literal(s, ",") &&
                      take_param(s, "p", info.lanes) && take_literal(s, "$");
  const std::size_t dollar = s.find('$');
  if (!params || dollar == std::string_view::npos || !is_b64_nopad(s.substr(0, dollar)) ||
      !is_b64_nopad(s.substr(dollar + 1)) || dollar < 11 || s.size() - dollar - 1 < 22) {
    return fail(ErrorKind::invalid_hash, "malformed argon2 hash");
  }
  if (info.version != 19 || info.lanes < 1 || info.lanes > 255 || info.ops < 1 ||
      info.mem_kib < 8 * info.lanes || info.mem_kib > k_max_mem_kib) {
    return fail(ErrorKind::invalid_hash, "argon2 parameters out of range");
  }
  if (body.size() >= crypto_pwhash_STRBYTES) {
    return fail(ErrorKind::invalid_hash, "argon2 hash longer than 127 bytes");
  }
  return info;
}

Result<std::string> argon2id_hash(SecretView password, const Argon2Params& params) {
  if (params.ops < crypto_pwhash_OPSLIMIT_MIN || params.mem_kib < 8 ||
      params.mem_kib > k_max_mem_kib) {
    return fail(ErrorKind::invalid_input, "argon2id parameters out of range");
  }
  char out[crypto_pwhash_STRBYTES] = {};
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params.ops,
                            static_cast<std::size_t>(params.mem_kib) * 1024U,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return fail(ErrorKind::internal, "argon2id hashing failed (out of memory?)");
  }
  return std::string(out);
}

namespace detail {
namespace {

class Argon2Scheme final : public Scheme {
public:
  explicit Argon2Scheme(bool id) : m_id(id) {}
  std::string_view name() const override { return m_id ? "argon2id" : "argon2i"; }

  Status validate(const Parsed& value) const override {
    auto info = argon2_info(value.body);
    if (!info) {
      return tl::unexpected(info.error());
    }
    if (info->id != m_id) {
      return fail(ErrorKind::invalid_hash, "argon2 variant does not match its prefix");
    }
    return {};
  }

  Result<bool> verify(SecretView password, const Parsed& value) const override {
    if (auto ok = validate(value); !ok) {
      return tl::unexpected(ok.error());
    }
    char buf[crypto_pwhash_STRBYTES] = {}; // libsodium reads a full 128-byte buffer
    std::memcpy(buf, value.body.data(), value.body.size());
    errno = 0;
    if (crypto_pwhash_str_verify(buf, password.data(), password.size()) == 0) {
      return true;
    }
    if (errno == ENOMEM) {
      return fail(ErrorKind::internal, "argon2 verify out of memory");
    }
    return false;
  }

private:
  bool m_id;
};

} // namespace

const Scheme& argon2id() {
  static const Argon2Scheme s(true);
  return s;
}

const Scheme& argon2i() {
  static const Argon2Scheme s(false);
  return s;
}

} // namespace detail
} // namespace authd::scheme
