// The hand-written glue (md5crypt/apr1, MySQL OLD_PASSWORD) against libraries and known values,
// and the creation functions' parameter handling.
#include <crypt.h>

#include <gtest/gtest.h>
#include <sodium.h>

#include <set>

#include "authd/scheme/create.hpp"
#include "authd/scheme/registry.hpp"
#include "scheme/internal.hpp"

namespace authd::scheme {
namespace {

std::string libxcrypt(const std::string& pw, const std::string& setting) {
  crypt_data data{};
  const char* out = crypt_rn(pw.c_str(), setting.c_str(), &data, sizeof data);
  return out == nullptr ? "" : out;
}

TEST(Md5Crypt, OwnCodeMatchesLibxcryptForDollarOne) {
  ASSERT_GE(sodium_init(), 0);
  const std::string alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  for (int i = 0; i < 200; ++i) {
    std::string pw(static_cast<std::size_t>(i % 70), 'a');
    for (auto& c : pw) {
      c = static_cast<char>(1 + randombytes_uniform(254)); // any byte but NUL, 8-bit included
    }
    std::string salt;
    for (std::uint32_t n = randombytes_uniform(9); n > 0; --n) {
      salt.push_back(alphabet[randombytes_uniform(64)]);
    }
    const SecretString secret(pw);
    EXPECT_EQ(detail::md5_crypt(secret, salt, "$1$"), libxcrypt(pw, "$1$" + salt + "$"));
  }
}

TEST(Md5Crypt, Apr1KnownValues) {
  EXPECT_EQ(detail::md5_crypt(SecretString("password"), "saltsalt", "$apr1$"), "$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/");
  EXPECT_EQ(detail::md5_crypt(SecretString("myPassword"), "r31.....", "$apr1$"), "$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/");
  // a salt longer than 8 characters is cut as apr-util does
  EXPECT_EQ(detail::md5_crypt(SecretString("password"), "saltsaltXYZ$", "$apr1$"), "$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/");
}

TEST(Mysql323, KnownValuesAndBlanksSkipped) {
  EXPECT_EQ(detail::mysql323(SecretString("test")), "378b243e220ca493");
  EXPECT_EQ(detail::mysql323(SecretString("t e\tst")), "378b243e220ca493");
}

TEST(Create, BcryptUsesDollarTwoYAndTheGivenCost) {
  auto h = bcrypt_hash(SecretString("secret"), 5);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->starts_with("$2y$05$"));
  EXPECT_EQ(h->size(), 60U);
  auto parsed = identify(*h);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(*parsed->scheme->verify(SecretString("secret"), *parsed));
  EXPECT_FALSE(*parsed->scheme->verify(SecretString("secreT"), *parsed));
  EXPECT_NE(*bcrypt_hash(SecretString("secret"), 5), *h) << "salt must be random";
}

TEST(Create, BcryptRefusesCostsOutsideTheRange) {
  EXPECT_EQ(bcrypt_hash(SecretString("x"), 3).error().kind, ErrorKind::invalid_input);
  EXPECT_EQ(bcrypt_hash(SecretString("x"), 32).error().kind, ErrorKind::invalid_input);
  EXPECT_EQ(bcrypt_hash(SecretString("x"), 0).error().kind, ErrorKind::invalid_input);
}

TEST(Create, BcryptTruncatesAt72BytesLikeEveryOtherImplementation) {
  const std::string base(72, 'a');
  auto h = bcrypt_hash(SecretString(base + "tail-one"), 4);
  auto parsed = identify(*h);
  EXPECT_TRUE(*parsed->scheme->verify(SecretString(base + "tail-two"), *parsed));
  EXPECT_FALSE(*parsed->scheme->verify(SecretString(base.substr(1)), *parsed));
}

TEST(Create, Argon2idWithGivenParameters) {
  auto h = argon2id_hash(SecretString("secret"), {1, 64});
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_TRUE(h->starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
  auto info = argon2_info(*h);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->mem_kib, 64U);
  auto parsed = identify(*h);
  EXPECT_TRUE(*parsed->scheme->verify(SecretString("secret"), *parsed));
  EXPECT_FALSE(*parsed->scheme->verify(SecretString("Secret"), *parsed));
}

TEST(Passwords, NulAndOversizeAreRefusedUpFront) {
  EXPECT_TRUE(check_password(SecretString(std::string(1024, 'x'))));
  EXPECT_FALSE(check_password(SecretString(std::string(1025, 'x'))));
  EXPECT_FALSE(check_password(SecretString(std::string("pass\0word", 9))));
  EXPECT_TRUE(check_password(SecretString("")));
}

TEST(Passwords, TooLongForCryptIsAMismatchNotAnError) {
  const std::string pw(600, 'x'); // libxcrypt: ERANGE above 512 bytes
  auto parsed = identify("$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/");
  auto r = parsed->scheme->verify(SecretString(pw), *parsed);
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
}

TEST(Registry, EverySchemeHasAUniqueStableName) {
  std::set<std::string_view> names;
  for (const Scheme* s : all_schemes()) {
    EXPECT_TRUE(names.insert(s->name()).second) << s->name();
    EXPECT_EQ(find_scheme(s->name()), s);
  }
  EXPECT_EQ(find_scheme("nosuch"), nullptr);
}

TEST(Registry, BareHexNeverReachesCrypt) {
  // libxcrypt would read this as a DES setting and compute "5fjgIzboD2FrE" (HASHES.md §5.3).
  auto parsed = identify("5f4dcc3b5aa765d61d8327deb882cf99");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->scheme->name(), "plain_md5");
}

} // namespace
} // namespace authd::scheme
