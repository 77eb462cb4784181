// Hash identification and parsing: any byte string must classify without crashing; values of the
// cheap schemes are also verified and split for wrapping. (bcrypt, argon2 and the sha/yes/scrypt
// families are not verified here: their cost is a parameter of the input.)
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "authd/policy/hash_policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const authd::policy::HashPolicy policy;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)policy.classify(input);
  authd::scheme::IdentifyOptions all{true, true, true, true};
  auto parsed = authd::scheme::identify(input, all);
  if (!parsed) {
    return 0;
  }
  const std::string_view name = parsed->scheme->name();
  for (std::string_view cheap : {"plain_md5", "smd5", "sha1", "ssha", "sha256", "ssha256", "sha512", "ssha512",
                                 "mysql41", "mysql323", "plain", "md5_crypt", "apr1", "des_crypt"}) {
    if (name == cheap) {
      (void)parsed->scheme->verify(authd::SecretString("password"), *parsed);
      (void)parsed->scheme->wrap_parts(*parsed);
    }
  }
  return 0;
}
