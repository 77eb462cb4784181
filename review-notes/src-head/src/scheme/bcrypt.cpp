// bcrypt: $2a$ $2b$ $2y$ (and $2x$, verify only) + 2-digit cost 04..31 + 22 salt + 31 hash chars,
// 60 in all ({BLF-CRYPT} prefix accepted by the classifier). Verified and created with libxcrypt;
// new hashes are always "$2y$" at an explicit cost (HASHES.md §7: Apache, Dovecot and PHP all
// accept $2y$; crypt_gensalt_rn's defaults would give cost 5).
#include <crypt.h>

#include "authd/scheme/create.hpp"
#include "internal.hpp"

namespace authd::scheme {

Result<BcryptInfo> bcrypt_info(std::string_view body) {
  const bool shape = body.size() == 60 && body.substr(0, 2) == "$2" && body[3] == '$' &&
                     body[6] == '$' && std::string_view("abxy").find(body[2]) != std::string_view::npos;
  if (!shape || body[4] < '0' || body[4] > '9' || body[5] < '0' || body[5] > '9' ||
      !detail::all_crypt64(body.substr(7))) {
    return fail(ErrorKind::invalid_hash, "malformed bcrypt hash");
  }
  const int cost = (body[4] - '0') * 10 + (body[5] - '0');
  if (cost < k_bcrypt_min_cost || cost > k_bcrypt_max_cost) {
    return fail(ErrorKind::invalid_hash, "bcrypt cost outside 04..31");
  }
  return BcryptInfo{body[2], cost};
}

Result<std::string> bcrypt_hash(SecretView password, int cost) {
  if (cost < k_bcrypt_min_cost || cost > k_bcrypt_max_cost) {
    return fail(ErrorKind::invalid_input, "bcrypt cost must be between 4 and 31");
  }
  char setting[CRYPT_GENSALT_OUTPUT_SIZE] = {};
  // rbytes = NULL: libxcrypt draws the salt from the OS.
  if (crypt_gensalt_rn("$2y$", static_cast<unsigned long>(cost), nullptr, 0, setting,
                       sizeof setting) == nullptr) {
    return fail(ErrorKind::internal, "crypt_gensalt_rn failed for bcrypt");
  }
  return detail::crypt_compute(password, setting);
}

namespace detail {
namespace {

class BcryptScheme final : public Scheme {
public:
  std::string_view name() const override { return "bcrypt"; }

  Status validate(const Parsed& value) const override {
    if (auto info = bcrypt_info(value.body); !info) {
      return tl::unexpected(info.error());
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
    return WrapParts{std::string(value.body.substr(0, 29)), std::string(value.body)};
  }

  Result<SecretString> wrap_derive(SecretView password, std::string_view setting) const override {
    return crypt_derive(password, setting);
  }
};

} // namespace

const Scheme& bcrypt() {
  static const BcryptScheme s;
  return s;
}

} // namespace detail
} // namespace authd::scheme
