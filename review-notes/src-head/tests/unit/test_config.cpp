#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "authd/config/config.hpp"

namespace authd::config {
namespace {

TEST(Config, DefaultValues) {
  auto c = parse_config("", "empty.toml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->store.url, "sqlite:///var/lib/authd/authd.db");
  EXPECT_EQ(c->policy.target, policy::Target::bcrypt);
  EXPECT_EQ(c->policy.bcrypt_cost, 12);
  EXPECT_TRUE(c->policy.identify.bare_hex_md5);
  EXPECT_FALSE(c->policy.identify.bare_des);
  EXPECT_EQ(c->http.listen, (std::vector<std::string>{"127.0.0.1:8425", "unix:/run/authd/authd.sock"}));
}

TEST(Config, ContractKeys) {
  auto c = parse_config(R"([store]
url = "mariadb://authd:pw@127.0.0.1:3306/authd"
[policy]
target = "argon2id"
bcrypt_cost = 10
bare_hex_md5 = false
[http]
listen = ["[::1]:8425"]
)", "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->store.url, "mariadb://authd:pw@127.0.0.1:3306/authd");
  EXPECT_EQ(c->policy.target, policy::Target::argon2id);
  EXPECT_EQ(c->policy.bcrypt_cost, 10);
  EXPECT_FALSE(c->policy.identify.bare_hex_md5);
  EXPECT_EQ(c->http.listen, std::vector<std::string>{"[::1]:8425"});
}

TEST(Config, UnknownKeyNamesFileAndLine) {
  auto c = parse_config("[policy]\nbcrypt_cost = 12\nbcrypt_kost = 11\n", "/etc/authd/authd.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "/etc/authd/authd.toml:3: [policy] bcrypt_kost: unknown key");
}

TEST(Config, BadValuesAreErrors) {
  EXPECT_FALSE(parse_config("[policy]\nbcrypt_cost = 3\n", "t"));
  EXPECT_FALSE(parse_config("[policy]\nbcrypt_cost = \"12\"\n", "t"));
  EXPECT_FALSE(parse_config("[policy]\ntarget = \"md5\"\n", "t"));
  EXPECT_FALSE(parse_config("[http]\nlisten = \"127.0.0.1:1\"\n", "t"));
  EXPECT_FALSE(parse_config("store = 1\n", "t"));
  auto syntax = parse_config("[policy\n", "broken.toml");
  ASSERT_FALSE(syntax);
  EXPECT_TRUE(syntax.error().message.starts_with("broken.toml:1:"));
}

TEST(Config, DumpRoundTripsAndHidesSecrets) {
  auto c = parse_config("[store]\nurl = \"mariadb://u:topsecret@h/db\"\n[http]\nbearer_token = \"tok123\"\n", "t");
  ASSERT_TRUE(c);
  const std::string dumped = dump_config(*c);
  EXPECT_EQ(dumped.find("topsecret"), std::string::npos);
  EXPECT_EQ(dumped.find("tok123"), std::string::npos);
  auto again = parse_config(dumped, "dump");
  ASSERT_TRUE(again) << again.error().message << "\n" << dumped;
  EXPECT_EQ(again->policy.bcrypt_cost, 12);
}

TEST(Config, PasswordFileGoesIntoTheUrlEncoded) {
  const std::string file = std::string(AUTHD_BIN_DIR) + "/db-password.txt";
  std::ofstream(file) << "p@ss:w/rd\n";
  auto c = parse_config("[store]\nurl = \"mariadb://authd@db:3306/authd\"\npassword_file = \"" + file + "\"\n", "t");
  ASSERT_TRUE(c);
  ASSERT_TRUE(resolve_store_password(*c));
  EXPECT_EQ(c->store.url, "mariadb://authd:p%40ss%3Aw%2Frd@db:3306/authd");
  EXPECT_EQ(dump_config(*c).find("p%40ss"), std::string::npos);
  auto both = parse_config("[store]\nurl = \"mariadb://authd:x@db/authd\"\npassword_file = \"" + file + "\"\n", "t");
  EXPECT_FALSE(resolve_store_password(*both)) << "a URL with a password and a password file is ambiguous";
  auto missing = parse_config("[store]\nurl = \"mariadb://authd@db/authd\"\npassword_file = \"/nonexistent\"\n", "t");
  EXPECT_FALSE(resolve_store_password(*missing));
}

TEST(Config, MissingFile) {
  EXPECT_FALSE(load_config("/nonexistent/authd.toml", true));
  EXPECT_TRUE(load_config("/nonexistent/authd.toml", false));
}

} // namespace
} // namespace authd::config

namespace authd::config {
namespace {
TEST(Config, ShippedExampleIsValidAndDocumentsEveryKey) {
  const std::string path = std::string(AUTHD_VECTORS_DIR) + "/../../contrib/authd.toml.example";
  auto c = load_config(path, true);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->http.socket_group, "authd");
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto dumped = parse_config(dump_config(Config{}), "dump");
  ASSERT_TRUE(dumped);
  // every key the dump knows appears in the example
  const std::string dump = dump_config(Config{});
  std::istringstream lines(dump);
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find(" = ");
    if (eq != std::string::npos) {
      EXPECT_NE(text.find(line.substr(0, eq) + " ="), std::string::npos) << "undocumented key " << line.substr(0, eq);
    }
  }
}
} // namespace
} // namespace authd::config
