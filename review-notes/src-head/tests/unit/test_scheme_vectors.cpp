// Every vector made by a real tool (tools.tsv, gen_tool_vectors.py) or quoted in HASHES.md
// (golden.tsv) identifies as the expected scheme/status, verifies with its password and fails
// with any other; every malformed value is refused and never matches.
#include <algorithm>
#include <cstdlib>

#include <gtest/gtest.h>

#include "authd/policy/hash_policy.hpp"
#include "support/vectors.hpp"

namespace authd {
namespace {

using test::Vector;

std::vector<Vector> all_vectors() {
  auto v = test::load_vectors("golden.tsv");
  // AUTHD_TOOL_VECTORS: a table freshly made by gen_tool_vectors.py (the tool_vectors_fresh test)
  const char* fresh = std::getenv("AUTHD_TOOL_VECTORS");
  auto tools = fresh != nullptr ? test::load_vectors_from(fresh) : test::load_vectors("tools.tsv");
  v.insert(v.end(), tools.begin(), tools.end());
  return v;
}

policy::PolicyConfig cheap_rehash() {
  policy::PolicyConfig cfg;
  cfg.bcrypt_cost = 4; // rehash on match at the cheapest cost: this suite tests verification
  return cfg;
}

class SchemeVectors : public ::testing::TestWithParam<Vector> {
protected:
  policy::HashPolicy m_policy;                  // defaults (bcrypt $2y$ cost 12): the statuses
  policy::HashPolicy m_verifier{cheap_rehash()};
};

TEST_P(SchemeVectors, IdentifiesAsExpected) {
  const auto c = m_policy.classify(GetParam().stored);
  EXPECT_EQ(c.scheme, GetParam().scheme) << GetParam().source << ": " << c.error;
  EXPECT_EQ(policy::to_string(c.status), GetParam().status) << GetParam().source;
}

TEST_P(SchemeVectors, VerifiesItsPassword) {
  const SecretString pw(GetParam().password);
  auto r = m_verifier.verify_and_update(pw, GetParam().stored);
  ASSERT_TRUE(r) << GetParam().source << ": " << r.error().message;
  EXPECT_TRUE(r->matched) << GetParam().source;
}

TEST_P(SchemeVectors, RejectsOtherPasswords) {
  for (const std::string other : {"Z" + GetParam().password, std::string("passwore"), std::string()}) {
    if (other == GetParam().password) {
      continue;
    }
    const SecretString pw(other);
    auto r = m_verifier.verify_and_update(pw, GetParam().stored);
    ASSERT_TRUE(r) << GetParam().source;
    EXPECT_FALSE(r->matched) << GetParam().source << " accepted '" << other << "'";
  }
}

std::string vector_name(const ::testing::TestParamInfo<Vector>& info) {
  std::string name = std::to_string(info.index) + "_";
  for (char c : info.param.source) {
    name.push_back(std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_');
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(All, SchemeVectors, ::testing::ValuesIn(all_vectors()), vector_name);

TEST(SchemeVectorsTable, HasEveryToolAndScheme) {
  const auto v = all_vectors();
  EXPECT_GT(v.size(), 400U);
  for (const char* scheme : {"bcrypt", "argon2id", "argon2i", "yescrypt", "gost_yescrypt", "scrypt",
                             "sha512_crypt", "sha256_crypt", "md5_crypt", "apr1", "des_crypt",
                             "plain_md5", "smd5", "sha1", "ssha", "sha256", "ssha256", "sha512",
                             "ssha512", "mysql41", "mysql323", "plain"}) {
    const bool found = std::any_of(v.begin(), v.end(), [&](const Vector& x) { return x.scheme == scheme; });
    EXPECT_TRUE(found) << "no vector for " << scheme;
  }
}

class MalformedValues : public ::testing::TestWithParam<std::string> {};

TEST_P(MalformedValues, AreInvalidAndNeverMatch) {
  const policy::HashPolicy policy;
  const auto c = policy.classify(GetParam());
  EXPECT_EQ(c.status, policy::HashStatus::invalid) << GetParam() << " -> " << c.scheme;
  EXPECT_EQ(c.scheme, "unknown");
  EXPECT_FALSE(c.error.empty());
  const SecretString pw("password");
  auto r = policy.verify_and_update(pw, GetParam());
  ASSERT_FALSE(r) << GetParam();
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_hash);
}

INSTANTIATE_TEST_SUITE_P(All, MalformedValues, ::testing::ValuesIn(test::read_lines("malformed.tsv")));

TEST(Identify, ControlCharactersAreInvalid) {
  const policy::HashPolicy policy;
  EXPECT_EQ(policy.classify(std::string("5f4dcc3b5aa765d61d8327deb882cf99\n")).status, policy::HashStatus::invalid);
  EXPECT_EQ(policy.classify(std::string("5f4dcc3b5aa765d6\0" "1d8327deb882cf99", 32)).status,
            policy::HashStatus::invalid);
}

TEST(Identify, BareInterpretationsFollowTheSwitches) {
  policy::PolicyConfig cfg;
  cfg.identify.bare_hex_md5 = false;
  cfg.identify.bare_base64_md5 = true;
  cfg.identify.bare_des = true;
  cfg.identify.bare_mysql323 = false;
  const policy::HashPolicy policy(cfg);
  EXPECT_EQ(policy.classify("5f4dcc3b5aa765d61d8327deb882cf99").status, policy::HashStatus::invalid);
  EXPECT_EQ(policy.classify("X03MO1qnZdYdgyfeuILPmQ==").scheme, "plain_md5");
  EXPECT_EQ(policy.classify("abgOeLfPimXQo").scheme, "des_crypt");
  EXPECT_EQ(policy.classify("378b243e220ca493").status, policy::HashStatus::invalid);
  const SecretString pw("password");
  EXPECT_TRUE(policy.verify_and_update(pw, "X03MO1qnZdYdgyfeuILPmQ==")->matched);
}

} // namespace
} // namespace authd
