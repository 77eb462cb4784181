// A real authd, started as a process, on SQLite and on the real MariaDB: the contract's HTTP
// behaviour end to end, over TCP and over the UNIX socket.
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "../store/store_fixture.hpp"
#include "authd/scheme/registry.hpp"
#include "support/daemon.hpp"

namespace authd {
namespace {

using nlohmann::json;
const std::string k_md5 = "5f4dcc3b5aa765d61d8327deb882cf99"; // "password"

struct Backend {
  std::string name;
  bool mariadb;
};

class HttpE2E : public ::testing::TestWithParam<Backend> {
protected:
  void SetUp() override {
    m_dir = std::string(AUTHD_BIN_DIR) + "/e2e-" + GetParam().name + "-" + test::unique_name("");
    std::filesystem::remove_all(m_dir);
    std::filesystem::create_directories(m_dir);
    m_url = GetParam().mariadb ? test::fresh_mariadb_url(false) : "sqlite://" + m_dir + "/authd.db";
    auto s = store::open_store(m_url, {2000, 2});
    ASSERT_TRUE(s);
    m_store = std::move(*s);
    ASSERT_TRUE(m_store->migrate());
    add("alice", k_md5);
    add("bob", k_md5, {"imap"});
    m_port = test::test_port(GetParam().mariadb ? 1 : 0);
    m_socket = m_dir + "/authd.sock";
    m_daemon = std::make_unique<test::Daemon>(m_dir, config(), m_port);
    ASSERT_TRUE(m_daemon->running()) << m_daemon->log();
  }
  void TearDown() override {
    if (m_daemon) {
      EXPECT_EQ(m_daemon->stop(), 0) << "SIGTERM must end authd cleanly\n" << m_daemon->log();
    }
  }
  std::string config(const std::string& http_extra = "") const {
    return "[store]\nurl = \"" + m_url + "\"\ntimeout_ms = 1500\n[policy]\nbcrypt_cost = 5\n"
           "[http]\nlisten = [\"127.0.0.1:" + std::to_string(m_port) + "\", \"unix:" + m_socket + "\"]\n"
           "max_body_bytes = 2048\n" + http_extra + "[throttle]\nenabled = false\n";
  }
  void add(const std::string& user, const std::string& hash, std::vector<std::string> services = {}) {
    store::NewAccount n{user, hash, true, {}, {}, {}, std::move(services)};
    ASSERT_TRUE(m_store->create(n, {0, "", "create", "test", "", "", ""}));
  }
  httplib::Client tcp() const {
    httplib::Client c("127.0.0.1", m_port);
    c.set_read_timeout(10, 0);
    return c;
  }
  httplib::Result auth(httplib::Client& c, const json& body) { return c.Post("/v1/auth", body.dump(), "application/json"); }

  std::string m_dir, m_url, m_socket;
  int m_port = 0;
  std::unique_ptr<store::CredentialStore> m_store;
  std::unique_ptr<test::Daemon> m_daemon;
};

TEST_P(HttpE2E, LegacyLoginIsUpgradedToBcryptAtTargetCost) {
  auto c = tcp();
  auto r = auth(c, {{"username", "alice"}, {"password", "password"}, {"service", "imap"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body), json({{"ok", true}, {"user", "alice"}, {"upgraded", true}}));
  const std::string stored = (**m_store->find("alice")).password_hash;
  EXPECT_TRUE(stored.starts_with("$2y$05$")) << stored;
  auto again = auth(c, {{"username", "alice"}, {"password", "password"}});
  EXPECT_EQ(json::parse(again->body)["upgraded"], false);
}

TEST_P(HttpE2E, OverTheUnixSocketToo) {
  httplib::Client c(m_socket);
  c.set_address_family(AF_UNIX);
  auto r = c.Post("/v1/auth", json({{"username", "alice"}, {"password", "password"}}).dump(), "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE((**m_store->find("alice")).password_hash.starts_with("$2y$05$"));
  httplib::Client b(m_socket);
  b.set_address_family(AF_UNIX);
  b.set_basic_auth("alice", "password");
  auto basic = b.Get("/v1/basic/imap");
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->status, 200);
  EXPECT_EQ(basic->get_header_value("Remote-User"), "alice");
}

// What Dovecot 2.4's Lua HTTP client sends when authd's socket is its proxy_socket_path: an
// absolute-form request target (RFC 9112 3.2.2), which must reach the same routes.
TEST_P(HttpE2E, AbsoluteFormTargetOverTheSocket) {
  const std::string body = json({{"username", "alice"}, {"password", "password"}, {"service", "imap"}}).dump();
  const std::string answer = test::raw_unix_exchange(m_socket, "POST http://authd/v1/auth HTTP/1.1\r\nHost: authd\r\n"
                                                                "Connection: close\r\nContent-Type: application/json\r\n"
                                                                "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
  EXPECT_NE(answer.find("\"user\":\"alice\""), std::string::npos) << answer;
  const std::string lookup = json({{"username", "alice"}}).dump();
  const std::string found = test::raw_unix_exchange(m_socket, "POST HTTP://AUTHD/v1/lookup HTTP/1.1\r\nHost: authd\r\n"
                                                               "Connection: close\r\nContent-Length: " + std::to_string(lookup.size()) +
                                                               "\r\n\r\n" + lookup);
  EXPECT_TRUE(found.starts_with("HTTP/1.1 200")) << found;
  EXPECT_TRUE(test::raw_unix_exchange(m_socket, "GET http://authd HTTP/1.1\r\nConnection: close\r\n\r\n").starts_with("HTTP/1.1 404"));
}

// /v1/lookup tells whether an account exists: on TCP only with the bearer token.
TEST_P(HttpE2E, LookupOverTcpNeedsTheBearerToken) {
  auto c = tcp();
  auto r = c.Post("/v1/lookup", json({{"username", "alice"}}).dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(json::parse(r->body)["ok"], false);
  auto unknown = c.Post("/v1/lookup", json({{"username", "nobody"}}).dump(), "application/json");
  EXPECT_EQ(unknown->status, 403) << "unknown and known accounts must look alike without the token";
  ASSERT_EQ(m_daemon->stop(), 0);
  m_daemon = std::make_unique<test::Daemon>(m_dir, config("bearer_token = \"tok-e2e\"\n"), m_port);
  ASSERT_TRUE(m_daemon->running()) << m_daemon->log();
  EXPECT_EQ(c.Post("/v1/lookup", json({{"username", "alice"}}).dump(), "application/json")->status, 403);
  const httplib::Headers bad{{"Authorization", "Bearer tok-e2"}};
  EXPECT_EQ(c.Post("/v1/lookup", bad, json({{"username", "alice"}}).dump(), "application/json")->status, 403);
  const httplib::Headers good{{"Authorization", "Bearer tok-e2e"}};
  auto ok = c.Post("/v1/lookup", good, json({{"username", "alice"}}).dump(), "application/json");
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(json::parse(ok->body)["user"], "alice");
  EXPECT_EQ(c.Post("/v1/lookup", good, json({{"username", "nobody"}}).dump(), "application/json")->status, 404);
}

// The per-source penalty keys on the address authd believes: JSON remote_ip only from a trusted
// peer. With nothing trusted, a loopback client rotating remote_ip is still one source.
TEST_P(HttpE2E, RemoteIpFromAnUntrustedPeerIsIgnored) {
  const auto wrong_logins = [&](const std::string& http_extra) {
    EXPECT_EQ(m_daemon->stop(), 0);
    std::string cfg = config(http_extra);
    cfg.replace(cfg.find("[throttle]\nenabled = false\n"), std::string::npos, "[throttle]\nenabled = true\naccount_free_failures = 50\nhold_max_ms = 0\n"); // 429 at once, not held
    m_daemon = std::make_unique<test::Daemon>(m_dir, cfg, m_port);
    EXPECT_TRUE(m_daemon->running()) << m_daemon->log();
    auto c = tcp();
    std::vector<int> statuses;
    for (int i = 0; i < 3; ++i) {
      const std::string ip = "203.0.113." + std::to_string(10 + i);
      statuses.push_back(auth(c, {{"username", "alice"}, {"password", "wrong"}, {"remote_ip", ip}})->status);
    }
    return statuses;
  };
  EXPECT_EQ(wrong_logins(""), (std::vector<int>{401, 401, 401})) << "loopback is trusted by default: three sources";
  EXPECT_EQ(wrong_logins("trusted_proxies = []\n"), (std::vector<int>{401, 429, 429})) << "untrusted: one source, slowed";
  auto c = tcp();
  const httplib::Headers xff{{"X-Forwarded-For", "203.0.113.99"}};
  EXPECT_EQ(c.Post("/v1/auth", xff, json({{"username", "alice"}, {"password", "wrong"}}).dump(), "application/json")->status, 429)
      << "nor is an untrusted peer's X-Forwarded-For believed";
}

TEST_P(HttpE2E, WrongPasswordAndUnknownUser) {
  auto c = tcp();
  for (const json& body : {json{{"username", "alice"}, {"password", "wrong"}}, json{{"username", "nobody"}, {"password", "x"}}}) {
    auto r = auth(c, body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    EXPECT_EQ(json::parse(r->body), json({{"ok", false}}));
  }
  c.set_basic_auth("alice", "wrong");
  auto b = c.Get("/v1/basic");
  EXPECT_EQ(b->status, 401);
  EXPECT_EQ(b->get_header_value("WWW-Authenticate"), "Basic realm=\"authd\", charset=\"UTF-8\"");
  EXPECT_EQ((**m_store->find("alice")).password_hash, k_md5);
}

TEST_P(HttpE2E, ServiceNotGrantedIs403) {
  auto c = tcp();
  EXPECT_EQ(auth(c, {{"username", "bob"}, {"password", "password"}, {"service", "nextcloud"}})->status, 403);
  EXPECT_EQ(auth(c, {{"username", "bob"}, {"password", "password"}, {"service", "imap"}})->status, 200);
  c.set_basic_auth("bob", "password");
  EXPECT_EQ(c.Get("/v1/basic/nextcloud")->status, 403);
  EXPECT_EQ(c.Get("/v1/basic/imap")->status, 200);
}

// user_external's BasicAuth: a canary GET without credentials must get a WWW-Authenticate
// header, then the credentialed GET must get a 2xx (PROTOCOLS.md §4).
TEST_P(HttpE2E, NextcloudUserExternalRequestPair) {
  auto canary = test::run_process({"/usr/bin/curl", "-s", "-o", "/dev/null", "-D", "-", "--max-redirs", "0",
                                   "http://127.0.0.1:" + std::to_string(m_port) + "/v1/basic/nextcloud"});
  EXPECT_NE(canary.out.find("HTTP/1.1 401"), std::string::npos) << canary.out;
  EXPECT_NE(canary.out.find("WWW-Authenticate: Basic realm="), std::string::npos) << canary.out;
  auto login = test::run_process({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-redirs", "0",
                                  "-H", "authorization: Basic " + std::string("YWxpY2U6cGFzc3dvcmQ="),
                                  "http://127.0.0.1:" + std::to_string(m_port) + "/v1/basic/nextcloud"});
  EXPECT_EQ(login.out, "200");
}

TEST_P(HttpE2E, ForwardAuthPathsAnswerLikeBasic) {
  auto c = tcp();
  for (const char* path : {"/api/authz/forward-auth", "/api/authz/auth-request", "/api/verify"}) {
    auto anon = c.Get(path);
    EXPECT_EQ(anon->status, 401) << path;
    EXPECT_TRUE(anon->has_header("WWW-Authenticate")) << path;
  }
  c.set_basic_auth("alice", "password");
  auto ok = c.Get("/api/authz/auth-request", {{"X-Original-URL", "https://app.example/x"}});
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->get_header_value("Remote-User"), "alice");
  EXPECT_EQ(ok->get_header_value("X-Remote-User"), "alice");
}

TEST_P(HttpE2E, BadInputGetsAClear4xxAndTheDaemonKeepsServing) {
  auto c = tcp();
  const std::string big(4096, 'a');
  EXPECT_EQ(c.Post("/v1/auth", "{\"username\":\"" + big + "\"}", "application/json")->status, 413);
  auto invalid = c.Post("/v1/auth", "{not json", "application/json");
  EXPECT_EQ(invalid->status, 400);
  EXPECT_NE(invalid->body.find("invalid JSON"), std::string::npos);
  EXPECT_EQ(auth(c, {{"username", "alice"}})->status, 400);
  EXPECT_EQ(auth(c, {{"username", 5}, {"password", "x"}})->status, 400);
  EXPECT_EQ(c.Post("/v1/auth", "{\"username\":\"al\xff\",\"password\":\"x\"}", "application/json")->status, 400);
  EXPECT_EQ(auth(c, {{"username", "alice"}, {"password", std::string("pa\0ss", 5)}})->status, 400);
  EXPECT_EQ(auth(c, {{"username", "alice"}, {"password", "x"}, {"service", "Bad Service"}})->status, 400);
  for (const std::string header : {"Basic !!!notbase64", "Basic YWxpY2U=", "Bearer abc"}) {
    auto r = c.Get("/v1/basic", {{"Authorization", header}});
    EXPECT_EQ(r->status, 401) << header;
    EXPECT_FALSE(r->body.empty()) << "a clear message for " << header;
  }
  EXPECT_EQ(c.Get("/healthz")->status, 200);
  EXPECT_EQ(auth(c, {{"username", "alice"}, {"password", "password"}})->status, 200);
}

// A wrong password for a real (legacy) account and for a made-up name look the same in /metrics.
TEST_P(HttpE2E, RejectedLoginsCarryNoSchemeLabel) {
  auto c = tcp();
  ASSERT_EQ(auth(c, {{"username", "alice"}, {"password", "wrong"}, {"service", "imap"}})->status, 401);
  ASSERT_EQ(auth(c, {{"username", "nobody"}, {"password", "wrong"}, {"service", "imap"}})->status, 401);
  const std::string m = c.Get("/metrics")->body;
  EXPECT_NE(m.find("authd_logins_total{service=\"imap\",scheme=\"none\",outcome=\"rejected\"} 2"), std::string::npos) << m;
  EXPECT_EQ(m.find("plain_md5"), std::string::npos) << m;
}

TEST_P(HttpE2E, MetricsAndReadiness) {
  auto c = tcp();
  EXPECT_EQ(c.Get("/readyz")->status, 200);
  ASSERT_EQ(auth(c, {{"username", "alice"}, {"password", "password"}, {"service", "imap"}})->status, 200);
  const std::string m = c.Get("/metrics")->body;
  EXPECT_NE(m.find("authd_logins_total{service=\"imap\",scheme=\"plain_md5\",outcome=\"ok\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("authd_upgrades_total{from=\"plain_md5\",result=\"written\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("authd_verify_seconds_count"), std::string::npos);
  EXPECT_EQ(m.find("password\""), std::string::npos);
  const std::string log = m_daemon->log();
  EXPECT_EQ(log.find(k_md5), std::string::npos) << "no hash material in logs";
  EXPECT_NE(log.find("outcome=ok upgraded=yes"), std::string::npos) << log;
}

INSTANTIATE_TEST_SUITE_P(Stores, HttpE2E, ::testing::Values(Backend{"sqlite", false}, Backend{"mariadb", true}),
                         [](const auto& info) { return info.param.name; });

// The database goes away under a running authd: every answer is 503 (never 401, never 200 for a
// wrong password), /readyz says so, and authd recovers by itself when it is back.
TEST(HttpE2EMariadb, StoreOutageIs503AndRecovers) {
  const std::string dir = std::string(AUTHD_BIN_DIR) + "/e2e-outage-" + test::unique_name("");
  std::filesystem::create_directories(dir);
  const std::string url = test::fresh_mariadb_url(false);
  auto s = store::open_store(url, {2000, 1});
  ASSERT_TRUE((*s)->migrate());
  ASSERT_TRUE((*s)->create({"carol", k_md5, true, {}, {}, {}, {}}, {0, "", "create", "t", "", "", ""}));
  const int port = test::test_port(2);
  test::Daemon d(dir, "[store]\nurl = \"" + url + "\"\ntimeout_ms = 1000\n[policy]\nbcrypt_cost = 5\n[http]\nlisten = [\"127.0.0.1:" +
                          std::to_string(port) + "\"]\n[throttle]\nenabled = false\n", port);
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(10, 0);
  const auto post = [&](const char* pw) {
    return c.Post("/v1/auth", json({{"username", "carol"}, {"password", pw}}).dump(), "application/json");
  };
  ASSERT_EQ(post("password")->status, 200);
  ASSERT_EQ(test::mariadb_script({"stop"}).exit_code, 0);
  for (const char* pw : {"password", "wrong", "password"}) {
    auto r = post(pw);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503) << pw;
    EXPECT_TRUE(r->has_header("Retry-After"));
  }
  c.set_basic_auth("carol", "password");
  EXPECT_EQ(c.Get("/v1/basic")->status, 503);
  EXPECT_EQ(c.Get("/readyz")->status, 503);
  EXPECT_EQ(c.Get("/healthz")->status, 200) << "alive, just not ready";
  ASSERT_EQ(test::mariadb_script({"start"}).exit_code, 0);
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    status = post("password")->status;
    if (status != 200) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_EQ(status, 200) << "recovered within 5 s without a restart";
  EXPECT_EQ(post("wrong")->status, 401);
  EXPECT_EQ(d.stop(), 0);
}

} // namespace
} // namespace authd
