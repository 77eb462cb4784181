#include "authd/util/encoding.hpp"

#include <cstdint>

#include <sodium.h>

namespace authd {

std::string hex_encode(const unsigned char* data, std::size_t size, bool upper) {
  if (size == 0) {
    return {};
  }
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.pop_back();
  if (upper) {
    for (char& c : out) {
      if (c >= 'a' && c <= 'f') {
        c = static_cast<char>(c - 'a' + 'A');
      }
    }
  }
  return out;
}

bool is_hex(std::string_view text) noexcept {
  for (char c : text) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
  }
  return out;
}

std::string ascii_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - ('a' - 'A')) : c;
  }
  return out;
}

std::optional<Bytes> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0 || !is_hex(text)) {
    return std::nullopt;
  }
  if (text.empty()) {
    return Bytes{}; // sodium_hex2bin must not get a null output buffer
  }
  Bytes out(text.size() / 2);
  std::size_t len = 0;
  if (sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, nullptr) != 0 ||
      len != out.size()) {
    return std::nullopt;
  }
  return out;
}

std::string base64_encode(const unsigned char* data, std::size_t size) {
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_ENCODED_LEN(size, variant), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, variant);
  out.pop_back(); // terminating NUL
  return out;
}

std::optional<Bytes> base64_decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) {
    return std::nullopt;
  }
  Bytes out(text.size() / 4 * 3);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  return a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool constant_time_equal(const Bytes& a, const Bytes& b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  return a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::size_t> utf8_length(std::string_view text) noexcept {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++chars) {
    const auto b = static_cast<unsigned char>(text[i]);
    const std::size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > text.size()) {
      return std::nullopt;
    }
    std::uint32_t cp = n == 1 ? b : b & (0x7f >> n);
    for (std::size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xc0) != 0x80) {
        return std::nullopt;
      }
      cp = (cp << 6) | (c & 0x3f);
    }
    static constexpr std::uint32_t k_min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < k_min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return std::nullopt;
    }
    i += n;
  }
  return chars;
}

} // namespace authd
