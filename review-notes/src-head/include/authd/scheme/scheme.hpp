#pragma once
// A password-hash scheme: identifies its stored values, verifies a password against one and
// (current schemes only) creates new hashes. Schemes are stateless singletons owned by the
// Registry; see registry.hpp for how a stored string is routed to one.
#include <string>
#include <string_view>

#include "authd/util/result.hpp"
#include "authd/util/secret.hpp"

namespace authd::scheme {

class Scheme;

// How the digest bytes of a digest scheme are written.
enum class Encoding { none, hex, base64 };

// A stored value that the registry routed to a scheme and whose syntax that scheme accepted.
struct Parsed {
  const Scheme* scheme = nullptr;
  std::string_view stored;  // the whole stored value, as given
  std::string_view body;    // the part after any {SCHEME} prefix
  Encoding encoding = Encoding::none;
};

// What authctl wrap-legacy needs from a legacy scheme: the non-secret parameters to recompute a
// value from a password (salt, rounds) and that value for the stored hash itself.
struct WrapParts {
  std::string setting;
  std::string canonical;
};

class Scheme {
public:
  virtual ~Scheme() = default;
  // Stable lower-case id used in config, logs, metrics and audit ("bcrypt", "plain_md5", ...).
  virtual std::string_view name() const = 0;
  // Syntax check of a value already routed to this scheme: ok, or ErrorKind::invalid_hash.
  virtual Status validate(const Parsed& value) const = 0;
  // true = the password matches, false = it does not; ErrorKind::invalid_hash for a malformed
  // value, ErrorKind::internal for a library failure. Never throws.
  virtual Result<bool> verify(SecretView password, const Parsed& value) const = 0;

  // Wrapping support (legacy schemes). Default: not wrappable.
  virtual Result<WrapParts> wrap_parts(const Parsed& value) const;
  // The same canonical value wrap_parts() returns, recomputed from a password and the setting.
  virtual Result<SecretString> wrap_derive(SecretView password, std::string_view setting) const;
};

} // namespace authd::scheme
