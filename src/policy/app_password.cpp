#include "authd/policy/app_password.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

#include <sodium.h>

#include "authd/util/encoding.hpp"

namespace authd::policy {
namespace {

constexpr std::string_view k_alphabet = "abcdefghijkmnpqrstuvwxyz23456789"; // 32: no l, o, 0, 1
static_assert(k_alphabet.size() == 32);

} // namespace

SecretString generate_app_password() {
  std::array<unsigned char, k_app_password_chars> random{};
  randombytes_buf(random.data(), random.size());
  SecretString out;
  for (std::size_t i = 0; i < random.size(); ++i) {
    if (i > 0 && i % 4 == 0) {
      out.push_back('-');
    }
    out.push_back(k_alphabet[random[i] & 31]); // 5 uniform bits of each byte: 26 x 5 = 130 bits
  }
  sodium_memzero(random.data(), random.size());
  return out;
}

std::optional<std::string> app_password_verifier(SecretView password) {
  std::array<char, k_app_password_chars> plain{};
  std::size_t n = 0;
  for (const char c : password.reveal()) {
    if (c == '-' || c == ' ') {
      continue;
    }
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (n == plain.size() || k_alphabet.find(lower) == std::string_view::npos) {
      sodium_memzero(plain.data(), plain.size());
      return std::nullopt;
    }
    plain[n++] = lower;
  }
  if (n != plain.size()) {
    sodium_memzero(plain.data(), plain.size());
    return std::nullopt;
  }
  static constexpr std::string_view k_context = "authd app password v1";
  std::array<unsigned char, 32> digest{};
  crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                     reinterpret_cast<const unsigned char*>(k_context.data()), k_context.size());
  sodium_memzero(plain.data(), plain.size());
  return hex_encode(digest.data(), digest.size());
}

bool app_password_label_ok(std::string_view label) {
  if (label.size() > 200) {
    return false;
  }
  return std::none_of(label.begin(), label.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::optional<std::int64_t> end_of_date(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%Y-%m-%d", &tm);
  if (end == nullptr || *end != '\0' || text.size() != 10 || tm.tm_year + 1900 > 9998) {
    return std::nullopt;
  }
  const std::tm asked = tm;
  const std::time_t at = ::timegm(&tm); // normalises 2027-02-30 into March: refuse what moved
  if (tm.tm_mday != asked.tm_mday || tm.tm_mon != asked.tm_mon || tm.tm_year != asked.tm_year) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(at) + 86400;
}

} // namespace authd::policy
