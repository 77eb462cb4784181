#pragma once
// Binary <-> text encodings (libsodium underneath) and constant-time comparison.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authd {

using Bytes = std::vector<unsigned char>;

std::string hex_encode(const unsigned char* data, std::size_t size, bool upper = false);
inline std::string hex_encode(const Bytes& b, bool upper = false) {
  return hex_encode(b.data(), b.size(), upper);
}
// Strict: even length, only [0-9a-fA-F]. nullopt otherwise.
std::optional<Bytes> hex_decode(std::string_view text);

// Standard alphabet with '=' padding. Decoding is strict about the alphabet and padding.
std::string base64_encode(const unsigned char* data, std::size_t size);
inline std::string base64_encode(const Bytes& b) { return base64_encode(b.data(), b.size()); }
std::optional<Bytes> base64_decode(std::string_view text);

bool is_hex(std::string_view text) noexcept;

// ASCII-only case mapping (bytes outside A-Z / a-z are kept): scheme names, hex digests,
// user and service names.
std::string ascii_lower(std::string_view text);
std::string ascii_upper(std::string_view text);

// Constant time for equal lengths (length itself is not secret here: hash lengths are public).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// The number of characters (code points) of well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF); nullopt for anything else.
std::optional<std::size_t> utf8_length(std::string_view text) noexcept;
bool constant_time_equal(const Bytes& a, const Bytes& b) noexcept;

} // namespace authd
