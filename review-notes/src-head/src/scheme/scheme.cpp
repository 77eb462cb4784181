#include "authd/scheme/scheme.hpp"

#include <cstring>

#include "authd/scheme/registry.hpp"

namespace authd::scheme {

Result<WrapParts> Scheme::wrap_parts(const Parsed&) const {
  return fail(ErrorKind::unsupported, std::string(name()) + " values cannot be wrapped");
}

Result<SecretString> Scheme::wrap_derive(SecretView, std::string_view) const {
  return fail(ErrorKind::unsupported, std::string(name()) + " values cannot be wrapped");
}

Status check_password(SecretView password) {
  if (password.size() > k_max_password_bytes) {
    return fail(ErrorKind::invalid_input, "password longer than 1024 bytes");
  }
  if (std::memchr(password.data(), '\0', password.size()) != nullptr) {
    return fail(ErrorKind::invalid_input, "password contains a NUL byte");
  }
  return {};
}

} // namespace authd::scheme
