// The registry: one ordered, immutable table of every built-in scheme, and the classifier that
// routes a stored value to one of them (shared/docs/HASHES.md §3, first match wins).
#include "authd/scheme/registry.hpp"

#include <array>
#include <vector>

#include <sodium.h>

#include "internal.hpp"

namespace authd::scheme {
namespace {

using detail::digest_scheme;

struct Prefix {
  std::string_view dovecot;   // "{NAME}" without braces, upper case
  const Scheme* (*scheme)();  // nullptr: the rest is a crypt string, routed by its own prefix
  std::string_view crypt_ids; // for crypt strings: the "$id$" prefixes allowed ("" = DES)
};

const Scheme* by_digest(std::string_view name) { return digest_scheme(name); }

const std::array<Prefix, 22> k_prefixes = {{
    {"BLF-CRYPT", nullptr, "$2a$ $2b$ $2y$ $2x$"},
    {"SHA512-CRYPT", nullptr, "$6$"},
    {"SHA256-CRYPT", nullptr, "$5$"},
    {"MD5-CRYPT", nullptr, "$1$"},
    {"DES-CRYPT", nullptr, ""},
    {"CRYPT", nullptr, "$2a$ $2b$ $2y$ $2x$ $1$ $5$ $6$ $y$ $gy$ $7$ "},
    {"ARGON2ID", [] { return &detail::argon2id(); }, ""},
    {"ARGON2I", [] { return &detail::argon2i(); }, ""},
    {"MD5", nullptr, "$1$"}, // not "$1$..." -> plain MD5 (handled in route_prefixed)
    {"PLAIN-MD5", [] { return by_digest("plain_md5"); }, ""},
    {"LDAP-MD5", [] { return by_digest("plain_md5"); }, ""},
    {"SMD5", [] { return by_digest("smd5"); }, ""},
    {"SHA", [] { return by_digest("sha1"); }, ""},
    {"SHA1", [] { return by_digest("sha1"); }, ""},
    {"SSHA", [] { return by_digest("ssha"); }, ""},
    {"SHA256", [] { return by_digest("sha256"); }, ""},
    {"SSHA256", [] { return by_digest("ssha256"); }, ""},
    {"SHA512", [] { return by_digest("sha512"); }, ""},
    {"SSHA512", [] { return by_digest("ssha512"); }, ""},
    {"PLAIN", [] { return by_digest("plain"); }, ""},
    {"CLEARTEXT", [] { return by_digest("plain"); }, ""},
    {"MYSQL41", [] { return by_digest("mysql41"); }, ""},
}};

struct CryptId {
  std::string_view prefix;
  const Scheme& (*scheme)();
};

const std::array<CryptId, 11> k_crypt_ids = {{
    {"$2a$", detail::bcrypt}, {"$2b$", detail::bcrypt}, {"$2y$", detail::bcrypt},
    {"$2x$", detail::bcrypt}, {"$1$", detail::md5_crypt_scheme}, {"$5$", detail::sha256_crypt},
    {"$6$", detail::sha512_crypt}, {"$y$", detail::yescrypt}, {"$gy$", detail::gost_yescrypt},
    {"$7$", detail::scrypt}, {"$apr1$", detail::apr1},
}};

// The scheme of a "$id$..." crypt string, or nullptr.
const Scheme* crypt_scheme_of(std::string_view body) {
  for (const CryptId& id : k_crypt_ids) {
    if (body.starts_with(id.prefix)) {
      return &id.scheme();
    }
  }
  return nullptr;
}

Result<Parsed> finish(const Scheme* scheme, std::string_view stored, std::string_view body,
                      Encoding encoding) {
  if (scheme == nullptr) {
    return fail(ErrorKind::invalid_hash, "unknown hash scheme");
  }
  Parsed parsed{scheme, stored, body, encoding};
  if (auto ok = scheme->validate(parsed); !ok) {
    return tl::unexpected(ok.error());
  }
  return parsed;
}

// A crypt string allowed under a {PREFIX}; ids lists the allowed "$id$" prefixes.
Result<Parsed> route_crypt(std::string_view stored, std::string_view body, std::string_view ids,
                           bool des_allowed) {
  if (!body.starts_with('$')) {
    return des_allowed ? finish(&detail::des_crypt(), stored, body, Encoding::none)
                       : fail(ErrorKind::invalid_hash, "unknown crypt format under {scheme} prefix");
  }
  const Scheme* scheme = crypt_scheme_of(body);
  const std::string_view id = body.substr(0, body.find('$', 1) + 1);
  if (scheme == nullptr || scheme == &detail::apr1() || ids.find(id) == std::string_view::npos) {
    return fail(ErrorKind::invalid_hash, "crypt format does not match its {scheme} prefix");
  }
  return finish(scheme, stored, body, Encoding::none);
}

Result<Parsed> route_prefixed(std::string_view stored) {
  const std::size_t close = stored.find('}');
  if (close == std::string_view::npos) {
    return fail(ErrorKind::invalid_hash, "unterminated {scheme} prefix");
  }
  std::string name = ascii_upper(stored.substr(1, close - 1));
  const std::string_view body = stored.substr(close + 1);
  Encoding encoding = Encoding::none;
  if (const auto dot = name.rfind('.'); dot != std::string::npos) {
    const std::string suffix = name.substr(dot + 1);
    encoding = suffix == "HEX" ? Encoding::hex
               : (suffix == "B64" || suffix == "BASE64") ? Encoding::base64 : Encoding::none;
    if (encoding == Encoding::none) {
      return fail(ErrorKind::invalid_hash, "unknown encoding suffix in {scheme} prefix");
    }
    name.resize(dot);
  }
  for (const Prefix& p : k_prefixes) {
    if (p.dovecot != name) {
      continue;
    }
    if (p.scheme != nullptr) {
      return finish(p.scheme(), stored, body, encoding);
    }
    if (name == "MD5" && !body.starts_with("$1$")) {
      return finish(digest_scheme("plain_md5"), stored, body, encoding);
    }
    return route_crypt(stored, body, p.crypt_ids, name == "CRYPT" || name == "DES-CRYPT");
  }
  return fail(ErrorKind::invalid_hash, "unknown {scheme} prefix");
}

Result<Parsed> route_bare(std::string_view stored, const IdentifyOptions& options) {
  if (stored.starts_with("$argon2id$")) {
    return finish(&detail::argon2id(), stored, stored, Encoding::none);
  }
  if (stored.starts_with("$argon2i$")) {
    return finish(&detail::argon2i(), stored, stored, Encoding::none);
  }
  if (stored.starts_with("$authdwrap$")) {
    return finish(&detail::wrapped(), stored, stored, Encoding::none);
  }
  if (const Scheme* crypt = crypt_scheme_of(stored)) {
    return finish(crypt, stored, stored, Encoding::none);
  }
  if (stored.size() == 41 && stored[0] == '*') {
    return finish(digest_scheme("mysql41"), stored, stored, Encoding::none);
  }
  if (options.bare_hex_md5 && stored.size() == 32 && is_hex(stored)) {
    return finish(digest_scheme("plain_md5"), stored, stored, Encoding::hex);
  }
  if (options.bare_base64_md5 && stored.size() == 24 && stored.ends_with("==")) {
    return finish(digest_scheme("plain_md5"), stored, stored, Encoding::base64);
  }
  if (options.bare_mysql323 && stored.size() == 16 && is_hex(stored)) {
    return finish(digest_scheme("mysql323"), stored, stored, Encoding::none);
  }
  if (options.bare_des && stored.size() == 13 && detail::all_crypt64(stored)) {
    return finish(&detail::des_crypt(), stored, stored, Encoding::none);
  }
  return fail(ErrorKind::invalid_hash, "unknown hash scheme");
}

std::vector<const Scheme*> build_table() {
  std::vector<const Scheme*> table = {
      &detail::bcrypt(), &detail::argon2id(), &detail::argon2i(), &detail::yescrypt(),
      &detail::gost_yescrypt(), &detail::scrypt(), &detail::sha512_crypt(),
      &detail::sha256_crypt(), &detail::md5_crypt_scheme(), &detail::apr1(),
      &detail::des_crypt(), &detail::wrapped()};
  for (const Scheme* s : detail::digest_schemes()) {
    table.push_back(s);
  }
  return table;
}

} // namespace

bool locked_marker(std::string_view stored) noexcept {
  // {CRYPT}* and {CRYPT}! are the same markers behind a Dovecot prefix.
  if (stored.starts_with("{CRYPT}") || stored.starts_with("{crypt}")) {
    const std::string_view rest = stored.substr(7);
    return !rest.empty() && (rest.starts_with('!') || rest.starts_with('*'));
  }
  // '*' starts every locked value (*, *0, *1, Solaris *LK* and *NP*) — except a MySQL 4.1 hash,
  // '*' and 40 hex digits.
  const bool mysql41 = stored.size() == 41 && stored.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string_view::npos;
  return stored.empty() || stored.starts_with('!') || (stored.starts_with('*') && !mysql41);
}

Result<Parsed> identify(std::string_view stored, const IdentifyOptions& options) {
  static const bool sodium_ready = sodium_init() >= 0;
  if (!sodium_ready) {
    return fail(ErrorKind::internal, "libsodium failed to initialise");
  }
  if (locked_marker(stored)) {
    return fail(ErrorKind::invalid_hash, "no usable password (locked or empty)");
  }
  if (stored.find_first_of(std::string_view("\0\n\r", 3)) != std::string_view::npos) {
    return fail(ErrorKind::invalid_hash, "hash contains control characters");
  }
  return stored.starts_with('{') ? route_prefixed(stored) : route_bare(stored, options);
}

std::span<const Scheme* const> all_schemes() {
  static const std::vector<const Scheme*> table = build_table();
  return table;
}

const Scheme* find_scheme(std::string_view name) {
  for (const Scheme* s : all_schemes()) {
    if (s->name() == name) {
      return s;
    }
  }
  return nullptr;
}

const Scheme& bcrypt_scheme() { return detail::bcrypt(); }
const Scheme& argon2id_scheme() { return detail::argon2id(); }

} // namespace authd::scheme
