// wrapped: a legacy hash protected by bcrypt without knowing the password (authctl wrap-legacy),
// after Django's wrapped hashers (HASHES.md §8.9). Format, all on one line:
//   $authdwrap$<legacy scheme>$<base64 of the legacy setting, may be empty>$<bcrypt $2y$ hash>
// The bcrypt input is base64(SHA-256(canonical)), where canonical is the legacy scheme's own
// output for the password (hex digest for digest schemes, the full crypt string for crypt
// schemes): recomputable from the password and the setting, never stored. Pre-hashing keeps the
// input under bcrypt's 72 bytes for long crypt strings. At the next login the policy replaces the
// whole value by a plain $2y$ hash.
#include "authd/scheme/create.hpp"
#include "authd/scheme/registry.hpp"
#include "internal.hpp"

namespace authd::scheme {
namespace {

constexpr std::string_view k_prefix = "$authdwrap$";

struct WrappedParts {
  const Scheme* inner = nullptr;
  std::string setting;
  std::string_view bcrypt;
};

Result<WrappedParts> split_wrapped(std::string_view body) {
  if (!body.starts_with(k_prefix)) {
    return fail(ErrorKind::invalid_hash, "not a wrapped hash");
  }
  body.remove_prefix(k_prefix.size());
  const std::size_t d1 = body.find('$');
  const std::size_t d2 = d1 == std::string_view::npos ? d1 : body.find('$', d1 + 1);
  if (d2 == std::string_view::npos) {
    return fail(ErrorKind::invalid_hash, "malformed wrapped hash");
  }
  WrappedParts parts;
  parts.inner = find_scheme(body.substr(0, d1));
  const std::string_view setting_b64 = body.substr(d1 + 1, d2 - d1 - 1);
  parts.bcrypt = body.substr(d2);
  if (parts.inner == nullptr || parts.inner->name() == "wrapped") {
    return fail(ErrorKind::invalid_hash, "wrapped hash names an unknown legacy scheme");
  }
  if (!setting_b64.empty()) {
    auto raw = base64_decode(setting_b64);
    if (!raw) {
      return fail(ErrorKind::invalid_hash, "malformed setting in wrapped hash");
    }
    parts.setting.assign(raw->begin(), raw->end());
  }
  if (auto info = bcrypt_info(parts.bcrypt); !info) {
    return tl::unexpected(info.error());
  }
  return parts;
}

SecretString prehash(SecretView canonical) {
  Bytes d = detail::digest(EVP_sha256(), {canonical.reveal()});
  std::string b64 = base64_encode(d);
  SecretString out(b64);
  wipe(b64.data(), b64.size());
  wipe(d.data(), d.size());
  return out;
}

class WrappedScheme final : public Scheme {
public:
  std::string_view name() const override { return "wrapped"; }

  Status validate(const Parsed& value) const override {
    if (auto parts = split_wrapped(value.body); !parts) {
      return tl::unexpected(parts.error());
    }
    return {};
  }

  Result<bool> verify(SecretView password, const Parsed& value) const override {
    auto parts = split_wrapped(value.body);
    if (!parts) {
      return tl::unexpected(parts.error());
    }
    auto canonical = parts->inner->wrap_derive(password, parts->setting);
    if (!canonical) {
      return canonical.error().kind == ErrorKind::invalid_input ? Result<bool>(false)
                                                                : tl::unexpected(canonical.error());
    }
    const SecretString input = prehash(*canonical);
    return detail::compare_computed(detail::crypt_compute(input, parts->bcrypt), parts->bcrypt);
  }
};

} // namespace

Result<std::string_view> wrapped_inner_name(std::string_view body) {
  auto parts = split_wrapped(body);
  if (!parts) {
    return tl::unexpected(parts.error());
  }
  return parts->inner->name();
}

Result<std::string> wrap_hash(const Parsed& legacy, int cost) {
  if (legacy.scheme == nullptr) {
    return fail(ErrorKind::invalid_hash, "no scheme");
  }
  auto parts = legacy.scheme->wrap_parts(legacy);
  if (!parts) {
    return tl::unexpected(parts.error());
  }
  const SecretString canonical(parts->canonical);
  wipe(parts->canonical.data(), parts->canonical.size());
  auto bcrypt = bcrypt_hash(prehash(canonical), cost);
  if (!bcrypt) {
    return tl::unexpected(bcrypt.error());
  }
  const auto* setting = reinterpret_cast<const unsigned char*>(parts->setting.data());
  const std::string setting_b64 = parts->setting.empty() ? "" : base64_encode(setting, parts->setting.size());
  return std::string(k_prefix) + std::string(legacy.scheme->name()) + "$" + setting_b64 + *bcrypt;
}

namespace detail {

const Scheme& wrapped() {
  static const WrappedScheme s;
  return s;
}

} // namespace detail
} // namespace authd::scheme
