#include <cerrno>
#include <cstring>
#include <memory>

#include <crypt.h>

#include "authd/util/encoding.hpp"
#include "internal.hpp"

namespace authd::scheme::detail {
namespace {

struct CryptDataDeleter {
  void operator()(crypt_data* data) const noexcept {
    wipe(data, sizeof(crypt_data)); // libxcrypt leaves data->input in place
    delete data;
  }
};

} // namespace

Result<std::string> crypt_compute(SecretView phrase, std::string_view setting) {
  const SecretString phrase_z(phrase.reveal()); // NUL-terminated copy, wiped on return
  const std::string setting_z(setting);
  std::unique_ptr<crypt_data, CryptDataDeleter> data(new crypt_data{});
  errno = 0;
  const char* out = crypt_rn(phrase_z.data(), setting_z.c_str(), data.get(), sizeof(crypt_data));
  if (out == nullptr || out[0] == '*') {
    if (errno == ERANGE) {
      return fail(ErrorKind::invalid_input, "password too long for crypt(3)");
    }
    if (errno == ENOMEM) {
      return fail(ErrorKind::internal, "crypt(3) out of memory");
    }
    return fail(ErrorKind::invalid_hash, "crypt(3) rejects the hash setting");
  }
  return std::string(out);
}

Result<SecretString> crypt_derive(SecretView phrase, std::string_view setting) {
  auto out = crypt_compute(phrase, setting);
  if (!out) {
    return tl::unexpected(out.error());
  }
  SecretString canonical(*out);
  wipe(out->data(), out->size());
  return canonical;
}

Result<bool> compare_computed(Result<std::string> computed, std::string_view expected) {
  if (!computed) {
    if (computed.error().kind == ErrorKind::invalid_input) {
      return false; // a password the scheme cannot take cannot be the right one
    }
    return tl::unexpected(computed.error());
  }
  const bool same = constant_time_equal(*computed, expected);
  wipe(computed->data(), computed->size());
  return same;
}

bool is_crypt64(char c) noexcept {
  return (c >= '.' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool all_crypt64(std::string_view s) noexcept {
  for (char c : s) {
    if (!is_crypt64(c)) {
      return false;
    }
  }
  return true;
}

Bytes digest(const EVP_MD* md, std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
    return {};
  }
  for (std::string_view part : parts) {
    EVP_DigestUpdate(ctx.get(), part.data(), part.size());
  }
  EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
  out.resize(len);
  return out;
}

} // namespace authd::scheme::detail
