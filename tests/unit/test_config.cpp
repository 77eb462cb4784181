#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

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

TEST(Config, TrustedProxiesAreCidrsCheckedAtLoad) {
  auto d = parse_config("", "t");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->http.trusted_proxies, (std::vector<std::string>{"127.0.0.0/8", "::1/128"}));
  auto c = parse_config("[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.1\"]\n", "t");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->http.trusted_proxies.size(), 3U);
  EXPECT_TRUE(parse_config("[http]\ntrusted_proxies = []\n", "t"));
  auto bad = parse_config("[http]\n\ntrusted_proxies = [\"10.0.0.0/33\"]\n", "proxies.toml");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().message.starts_with("proxies.toml:3: [http] trusted_proxies: ")) << bad.error().message;
  EXPECT_NE(bad.error().message.find("10.0.0.0/33"), std::string::npos);
  EXPECT_FALSE(parse_config("[http]\ntrusted_proxies = [\"localhost\"]\n", "t"));
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

namespace authd::config {
namespace {
// Issue 14: what --check-config catches, with FILE:LINE for every key.
TEST(Config, ValuesThatWouldBreakAtStartAreRefusedWithFileAndLine) {
  const std::pair<std::string, std::string> cases[] = {
      {"[http]\nsocket_mode = \"0999\"\n", "t.toml:2: [http] socket_mode: must be an octal file mode"},
      {"[http]\nsocket_mode = \"rw\"\n", "t.toml:2: [http] socket_mode"},
      {"[http]\nsocket_mode = \"01777\"\n", "t.toml:2: [http] socket_mode"},
      {"[http]\nlisten = []\n", "t.toml:2: [http] listen: is empty"},
      {"\n[http]\nlisten = [\"localhost\"]\n", "t.toml:3: [http] listen: listen 'localhost'"},
      {"[http]\nlisten = [\"unix:relative.sock\"]\n", "t.toml:2: [http] listen"},
      {"[daemon]\nlog_level = \"verbose\"\n", "t.toml:2: [daemon] log_level: must be trace"},
  };
  for (const auto& [text, expected] : cases) {
    auto c = parse_config(text, "t.toml");
    ASSERT_FALSE(c) << text;
    EXPECT_NE(c.error().message.find(expected), std::string::npos) << c.error().message;
  }
  EXPECT_TRUE(parse_config("[http]\nsocket_mode = \"0600\"\n[daemon]\nlog_level = \"debug\"\n", "t.toml"));
}

TEST(Config, OriginNamesTheLineOrTheDefault) {
  auto c = parse_config("# comment\n[store]\n\nurl = \"sqlite:///x/y.db\"\n", "/etc/authd/authd.toml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->origin("store", "url"), "/etc/authd/authd.toml:4: [store] url");
  EXPECT_EQ(c->origin("http", "listen"), "/etc/authd/authd.toml: [http] listen (default)");
}

TEST(Config, ADirectoryIsNotAConfigFile) {
  auto c = load_config(AUTHD_BIN_DIR, true);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("is a directory"), std::string::npos);
  EXPECT_FALSE(load_config(AUTHD_BIN_DIR, false)) << "not silently all defaults either";
}

TEST(Config, PasswordFileWrittenOnWindowsLosesItsCarriageReturn) {
  const std::string file = std::string(AUTHD_BIN_DIR) + "/db-password-crlf.txt";
  std::ofstream(file, std::ios::binary) << "Secret99\r\n";
  auto c = parse_config("[store]\nurl = \"mariadb://authd@db/authd\"\npassword_file = \"" + file + "\"\n", "t");
  ASSERT_TRUE(c);
  ASSERT_TRUE(resolve_store_password(*c));
  EXPECT_EQ(c->store.url, "mariadb://authd:Secret99@db/authd");
  EXPECT_EQ(c->store.url_as_written, "mariadb://authd@db/authd");
  std::ofstream(file, std::ios::binary) << "\n";
  auto empty = parse_config("[store]\nurl = \"mariadb://authd@db/authd\"\npassword_file = \"" + file + "\"\n", "t");
  auto refused = resolve_store_password(*empty);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("t:3: [store] password_file"), std::string::npos) << refused.error().message;
}

TEST(Config, RedactUrlMasksTheWholePasswordWhateverItHolds) {
  EXPECT_EQ(redact_url("mariadb://atuser:Secret99@localhost/authd"), "mariadb://atuser:***@localhost/authd");
  EXPECT_EQ(redact_url("mariadb://atuser:p@ss@Secret99@localhost/authd"), "mariadb://atuser:***@localhost/authd");
  EXPECT_EQ(redact_url("mariadb://u:a:b@c@h1:3306,h2:3306/db?socket=/run/x@y.sock"),
            "mariadb://u:***@h1:3306,h2:3306/db?socket=/run/x@y.sock");
  EXPECT_EQ(redact_url("mariadb://u:p%40w@localhost/db"), "mariadb://u:***@localhost/db");
  EXPECT_EQ(redact_url("mariadb://nopass@localhost/db"), "mariadb://nopass@localhost/db");
  EXPECT_EQ(redact_url("sqlite:///var/lib/authd/a@b.db"), "sqlite:///var/lib/authd/a@b.db");
}

TEST(Config, ReloadKeepsRestartOnlySettingsAndNamesThem) {
  auto running = parse_config("[store]\nurl = \"sqlite:///a.db\"\n[policy]\nbcrypt_cost = 10\n", "t");
  auto loaded = parse_config("[store]\nurl = \"sqlite:///b.db\"\n[policy]\nbcrypt_cost = 11\n[http]\nthreads = 3\n"
                             "keepalive_timeout_s = 5\n[throttle]\nmax_ms = 1000\n", "t");
  ASSERT_TRUE(running && loaded);
  const auto kept = keep_restart_settings(*running, *loaded);
  EXPECT_EQ(kept, (std::vector<std::string>{"[store] url", "[http] threads"}));
  EXPECT_EQ(loaded->store.url, "sqlite:///a.db");
  EXPECT_EQ(loaded->http.threads, running->http.threads);
  EXPECT_EQ(loaded->policy.bcrypt_cost, 11) << "live";
  EXPECT_EQ(loaded->http.keepalive_timeout_s, 5) << "live";
  EXPECT_EQ(loaded->throttle.max_ms, 1000) << "live";
  EXPECT_TRUE(keep_restart_settings(*running, *running).empty());
}
} // namespace
} // namespace authd::config

namespace authd::config {
namespace {
// A TOML basic string holding any bytes: \uXXXX for control characters.
std::string escape_for_toml(const std::string& s) {
  std::string out;
  char buf[8];
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// Issue 14 review: listeners --check-config passed that then failed at start.
TEST(Config, ListenersThatCannotBeBoundAreRefusedUpFront) {
  for (const std::string& bad : std::vector<std::string>{"localhost:8425", "[::1:8425", "::1:8425", "[127.0.0.1]:8425", "127.0.0.1:0",
                                "127.0.0.1:99999", "unix:/" + std::string(120, 'x') + ".sock",
                                std::string("unix:/tmp/a\0b.sock", 18), "unix:/tmp/a\nb.sock"}) {
    auto c = parse_config("[http]\nlisten = [\"" + escape_for_toml(bad) + "\"]\n", "t.toml");
    ASSERT_FALSE(c) << bad;
    EXPECT_NE(c.error().message.find("t.toml:2: [http] listen"), std::string::npos) << c.error().message;
    EXPECT_EQ(c.error().message.find('\0'), std::string::npos) << "no control characters in the message";
  }
  auto twice = parse_config("[http]\nlisten = [\"unix:/tmp/a.sock\", \"unix:/tmp/a.sock\"]\n", "t.toml");
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("listed twice"), std::string::npos);
  EXPECT_FALSE(parse_config("[http]\nlisten = [\"127.0.0.1:8425\", \"127.0.0.1:8425\"]\n", "t.toml"));
  EXPECT_TRUE(parse_config("[http]\nlisten = [\"[::1]:8425\", \"127.0.0.1:8425\", \"unix:/run/authd/authd.sock\"]\n", "t.toml"));
}

TEST(Config, OnlyRegularFilesAreRead) {
  const std::string fifo = std::string(AUTHD_BIN_DIR) + "/config-fifo.toml";
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto c = load_config(fifo, true);
  ASSERT_FALSE(c) << "a FIFO would block the start or a reload";
  EXPECT_NE(c.error().message.find("not a regular file"), std::string::npos);
  ::unlink(fifo.c_str());
  EXPECT_FALSE(load_config("/dev/zero", true)) << "a device would be read forever";
}

TEST(Config, ChangedSettingsNameEveryLiveChangeAndMaskSecrets) {
  auto a = parse_config("[http]\nbearer_token = \"old-secret\"\n[policy]\nbcrypt_cost = 10\n", "t");
  auto b = parse_config("[http]\nbearer_token = \"new-secret\"\n[policy]\nbcrypt_cost = 11\n[throttle]\nenabled = false\n", "t");
  ASSERT_TRUE(a && b);
  const auto changes = changed_settings(*a, *b);
  EXPECT_EQ(changes, (std::vector<std::string>{"[policy] bcrypt_cost: 10 -> 11", "[http] bearer_token (changed)",
                                               "[throttle] enabled: true -> false"}));
}

TEST(Config, PasswordFileVariableOnlyFillsAMariadbUrlWithoutPassword) {
  const std::string file = std::string(AUTHD_BIN_DIR) + "/db-password-env.txt";
  std::ofstream(file) << "EnvSecret\n";
  ::setenv("AUTHD_DB_PASSWORD_FILE", file.c_str(), 1);
  auto sqlite = parse_config("[store]\nurl = \"sqlite:///var/lib/authd/authd.db\"\n", "t");
  EXPECT_TRUE(resolve_store_password(*sqlite)) << "a variable left in the environment does not stop an SQLite start";
  EXPECT_EQ(sqlite->store.url, "sqlite:///var/lib/authd/authd.db");
  auto with = parse_config("[store]\nurl = \"mariadb://u:own@db/authd\"\n", "t");
  EXPECT_TRUE(resolve_store_password(*with));
  EXPECT_EQ(with->store.url, "mariadb://u:own@db/authd");
  auto without = parse_config("[store]\nurl = \"mariadb://u@db/authd\"\n", "t");
  EXPECT_TRUE(resolve_store_password(*without));
  EXPECT_EQ(without->store.url, "mariadb://u:EnvSecret@db/authd");
  ::unsetenv("AUTHD_DB_PASSWORD_FILE");
}
} // namespace
} // namespace authd::config
