#include <gtest/gtest.h>

#include <openssl/evp.h>

#include "authd/policy/hash_policy.hpp"

namespace authd::policy {
namespace {

PolicyConfig cheap(int cost = 5) {
  PolicyConfig cfg;
  cfg.bcrypt_cost = cost;
  return cfg;
}

TEST(HashPolicy, EveryLegacySchemeNeedsUpdate) {
  const HashPolicy policy(cheap());
  for (const char* legacy : {"5f4dcc3b5aa765d61d8327deb882cf99", "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/",
                             "$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
                             "{SSHA}ouUZQtFbhkQrfIJ43qx176Wfj4YBAgME", "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19",
                             "{PLAIN}password", "{CRYPT}abgOeLfPimXQo",
                             "$2x$05$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu"}) {
    EXPECT_EQ(policy.classify(legacy).status, HashStatus::legacy) << legacy;
    EXPECT_TRUE(policy.needs_update(legacy)) << legacy;
  }
}

TEST(HashPolicy, BcryptCostAgainstTarget) {
  const HashPolicy policy; // target cost 12
  const std::string cost10 = "$2y$10$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu";
  const std::string cost12 = "$2y$12$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu";
  const std::string cost13b = "$2b$13$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu";
  const std::string cost12a = "$2a$12$abcdefghijklmnopqrstuuWG29KuyeAicPCJODk1zjyGvyQUU2awu";
  EXPECT_TRUE(policy.needs_update(cost10));
  EXPECT_EQ(policy.classify(cost10).status, HashStatus::weak);
  EXPECT_FALSE(policy.needs_update(cost12));
  EXPECT_EQ(policy.classify(cost12).status, HashStatus::current);
  EXPECT_FALSE(policy.needs_update(cost13b));
  EXPECT_TRUE(policy.needs_update(cost12a)) << "$2a$ is upgraded to $2y$";
}

TEST(HashPolicy, VerifyAndUpdateRehashesLegacyToTarget) {
  const HashPolicy policy(cheap());
  auto r = policy.verify_and_update(SecretString("password"), "5f4dcc3b5aa765d61d8327deb882cf99");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->matched);
  ASSERT_TRUE(r->new_hash);
  EXPECT_TRUE(r->new_hash->starts_with("$2y$05$"));
  EXPECT_EQ(r->scheme, "plain_md5");
  EXPECT_EQ(r->status, HashStatus::legacy);
  auto again = policy.verify_and_update(SecretString("password"), *r->new_hash);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->matched);
  EXPECT_FALSE(again->new_hash) << "a current hash is not rewritten";
  EXPECT_EQ(again->status, HashStatus::current);
}

std::string md5_hex(const std::string& text) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), d, &n, EVP_md5(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += hex[d[i] >> 4];
    out += hex[d[i] & 15];
  }
  return out;
}

// bcrypt reads 72 bytes: a longer legacy password is never rewritten as bcrypt (it would then
// accept every password with the same first 72 bytes); it moves to argon2id at full length.
TEST(HashPolicy, PasswordsLongerThan72BytesMoveToArgon2idNotBcrypt) {
  PolicyConfig cfg = cheap();
  cfg.argon2 = {1, 256};
  const HashPolicy policy(cfg);
  for (const std::size_t len : {73U, 100U, 511U, 512U, 1024U}) {
    std::string pw(len, 'a');
    pw[len - 1] = 'z';
    auto r = policy.verify_and_update(SecretString(pw), md5_hex(pw));
    ASSERT_TRUE(r) << len << ": " << r.error().message;
    EXPECT_TRUE(r->matched) << len;
    ASSERT_TRUE(r->new_hash) << len << " bytes are upgraded too";
    EXPECT_EQ(policy.classify(*r->new_hash).scheme, "argon2id") << len;
    EXPECT_EQ(policy.classify(*r->new_hash).status, HashStatus::current) << "argon2id is current under a bcrypt target";
    EXPECT_FALSE(policy.verify_and_update(SecretString(pw.substr(0, 72)), *r->new_hash)->matched)
        << len << ": the first 72 bytes alone are not the password";
    std::string other = pw;
    other[len - 1] = 'y';
    EXPECT_FALSE(policy.verify_and_update(SecretString(other), *r->new_hash)->matched) << len << ": nor a different tail";
    auto again = policy.verify_and_update(SecretString(pw), *r->new_hash);
    ASSERT_TRUE(again && again->matched) << len;
    EXPECT_FALSE(again->new_hash) << "and it stays: no rehash loop";
  }
  // A scheme that matched only part of the typed password (DES: 8 bytes, bcrypt: 72) is not
  // rehashed from it: a typo past the limit would become the password and lock the real one out.
  const std::string des = "{CRYPT}abJnggxhB/yWI"; // crypt("password123", "ab")
  auto typo = policy.verify_and_update(SecretString("passwordXYZ"), des);
  ASSERT_TRUE(typo && typo->matched) << "DES reads 8 bytes";
  EXPECT_FALSE(typo->new_hash) << "a DES match of a longer password is not rehashed";
  auto eight = policy.verify_and_update(SecretString("password"), des);
  ASSERT_TRUE(eight && eight->matched);
  EXPECT_TRUE(eight->new_hash) << "8 bytes are the whole DES password";
  const std::string long_pw(100, 'q');
  auto weak = scheme::bcrypt_hash(SecretString(long_pw), 4); // cost 4 < 5: weak
  ASSERT_TRUE(weak);
  auto variant = policy.verify_and_update(SecretString(std::string(72, 'q') + "ATTACKER"), *weak);
  ASSERT_TRUE(variant && variant->matched) << "bcrypt reads 72 bytes";
  EXPECT_FALSE(variant->new_hash) << "a weak bcrypt of a long password is not rehashed from a variant";
  const std::string pw72(72, 'a');
  auto r = policy.verify_and_update(SecretString(pw72), md5_hex(pw72));
  ASSERT_TRUE(r && r->matched && r->new_hash) << "72 bytes fit bcrypt";
  EXPECT_EQ(policy.classify(*r->new_hash).scheme, "bcrypt");
  PolicyConfig argon;
  argon.target = Target::argon2id;
  argon.argon2 = {1, 256};
  const std::string pw100(100, 'b');
  auto a = HashPolicy(argon).verify_and_update(SecretString(pw100), md5_hex(pw100));
  ASSERT_TRUE(a && a->matched && a->new_hash) << "argon2id has no such limit";
  EXPECT_FALSE(HashPolicy(argon).verify_and_update(SecretString(pw100.substr(0, 99) + "c"), *a->new_hash)->matched);
}

TEST(HashPolicy, MismatchHasNoNewHash) {
  const HashPolicy policy(cheap());
  auto r = policy.verify_and_update(SecretString("wrong"), "5f4dcc3b5aa765d61d8327deb882cf99", true);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->matched);
  EXPECT_FALSE(r->new_hash);
}

TEST(HashPolicy, MalformedHashIsAnErrorNotAMismatch) {
  const HashPolicy policy(cheap());
  auto r = policy.verify_and_update(SecretString("password"), "$2y$05$short");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_hash);
}

TEST(HashPolicy, RefusesNulAndOversizedPasswords) {
  const HashPolicy policy(cheap());
  EXPECT_EQ(policy.verify_and_update(SecretString(std::string("pass\0word", 9)), "{PLAIN}pass").error().kind,
            ErrorKind::invalid_input);
  EXPECT_EQ(policy.hash(SecretString(std::string(1025, 'a'))).error().kind, ErrorKind::invalid_input);
}

TEST(HashPolicy, Argon2idTarget) {
  PolicyConfig cfg;
  cfg.target = Target::argon2id;
  cfg.argon2 = {1, 256};
  const HashPolicy policy(cfg);
  auto h = policy.hash(SecretString("secret"));
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->starts_with("$argon2id$v=19$m=256,t=1,p=1$"));
  EXPECT_EQ(policy.classify(*h).status, HashStatus::current);
  auto r = policy.verify_and_update(SecretString("secret"), "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->matched);
  EXPECT_TRUE(r->new_hash->starts_with("$argon2id$"));
  EXPECT_EQ(policy.classify("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$9UfwtpoxeAUL6i5PxYD0tRic7yPylzp34HsMAQPqi/g").status,
            HashStatus::weak);
}

TEST(HashPolicy, WrappedLegacyRoundTrip) {
  const HashPolicy policy(cheap());
  for (const char* legacy : {"5f4dcc3b5aa765d61d8327deb882cf99", "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/",
                             "$apr1$saltsalt$yAAkm4libquA.ZWLHbSBq/", "{SSHA}ouUZQtFbhkQrfIJ43qx176Wfj4YBAgME",
                             "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", "{PLAIN-MD5}X03MO1qnZdYdgyfeuILPmQ=="}) {
    auto parsed = scheme::identify(legacy);
    ASSERT_TRUE(parsed) << legacy;
    auto wrapped = scheme::wrap_hash(*parsed, 4);
    ASSERT_TRUE(wrapped) << legacy << ": " << wrapped.error().message;
    EXPECT_EQ(wrapped->find("5f4dcc3b"), std::string::npos) << "no MD5 material survives";
    const auto c = policy.classify(*wrapped);
    EXPECT_EQ(c.status, HashStatus::wrapped) << *wrapped;
    EXPECT_EQ(c.scheme, "wrap_" + std::string(parsed->scheme->name()));
    auto ok = policy.verify_and_update(SecretString("password"), *wrapped);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_TRUE(ok->matched) << legacy;
    ASSERT_TRUE(ok->new_hash);
    EXPECT_TRUE(ok->new_hash->starts_with("$2y$05$"));
    EXPECT_FALSE(policy.verify_and_update(SecretString("passworD"), *wrapped)->matched);
  }
}

TEST(HashPolicy, CurrentSchemesAreNotWrappable) {
  auto parsed = scheme::identify("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$9UfwtpoxeAUL6i5PxYD0tRic7yPylzp34HsMAQPqi/g");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(scheme::wrap_hash(*parsed, 4).error().kind, ErrorKind::unsupported);
}

} // namespace
} // namespace authd::policy
