// The Dovecot auth-client protocol without sockets: handshake, escaping, PLAIN and LOGIN with and
// without initial responses, several requests, CANCEL, and every violation that hangs up.
#include <gtest/gtest.h>

#include "frontend/dovecot/protocol.hpp"
#include "authd/util/encoding.hpp"

namespace authd::frontend::dovecot {
namespace {

std::string b64(std::string_view s) { return base64_encode(reinterpret_cast<const unsigned char*>(s.data()), s.size()); }

Conversation ready() {
  Conversation c;
  EXPECT_TRUE(c.on_line("VERSION\t1\t0").close.empty());
  EXPECT_TRUE(c.on_line("CPID\t4242").close.empty());
  EXPECT_TRUE(c.ready());
  return c;
}

TEST(DovecotProtocol, HandshakeIsOneShortWriteWithMechsBeforeSpid) {
  const std::string h = handshake(123, 7, "0123456789abcdef0123456789abcdef");
  EXPECT_LT(h.size(), 1024u) << "Radicale reads the handshake with one recv(1024)";
  EXPECT_TRUE(h.starts_with("VERSION\t1\t2\n"));
  EXPECT_LT(h.find("MECH\tPLAIN"), h.find("SPID\t")) << "Postfix: a SPID before any MECH = wrong socket";
  EXPECT_LT(h.find("MECH\tLOGIN"), h.find("SPID\t"));
  EXPECT_TRUE(h.ends_with("DONE\n"));
}

TEST(DovecotProtocol, EscapingRoundTrips) {
  const std::string raw = std::string("a\tb\nc\rd\001e") + '\0' + "f";
  EXPECT_EQ(escape(raw), "a\001tb\001nc\001rd\0011e\0010f");
  EXPECT_EQ(unescape(escape(raw)), raw);
  EXPECT_FALSE(unescape("bad\001"));
  EXPECT_FALSE(unescape("bad\001x"));
}

TEST(DovecotProtocol, HandshakeViolationsHangUp) {
  EXPECT_FALSE(Conversation().on_line("AUTH\t1\tPLAIN\tservice=smtp").close.empty());
  EXPECT_FALSE(Conversation().on_line("VERSION\t2\t0").close.empty());
  Conversation c;
  c.on_line("VERSION\t1\t1");
  EXPECT_FALSE(c.on_line("CPID\t0").close.empty());
}

TEST(DovecotProtocol, PlainWithInitialResponseStartsALogin) {
  Conversation c = ready();
  auto s = c.on_line("AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.9\tsecured\tresp=" + b64(std::string("\0alice\0secret", 13)));
  ASSERT_TRUE(s.login);
  EXPECT_TRUE(s.send.empty());
  EXPECT_EQ(s.login->id, 1u);
  EXPECT_EQ(s.login->user, "alice");
  EXPECT_EQ(s.login->password.view().reveal(), "secret");
  EXPECT_EQ(s.login->service, "smtp");
  EXPECT_EQ(s.login->remote_ip, "192.0.2.9");
  EXPECT_TRUE(c.finish(1, s.login->seq));
  EXPECT_FALSE(c.finish(1, s.login->seq));
  EXPECT_EQ(ok_line(1, "alice"), "OK\t1\tuser=alice\n");
}

TEST(DovecotProtocol, PlainWithoutInitialResponseAsksFirst) {
  Conversation c = ready();
  auto s = c.on_line("AUTH\t5\tPLAIN\tservice=radicale");
  ASSERT_EQ(s.send.size(), 1u);
  EXPECT_EQ(s.send[0], "CONT\t5\t\n");
  auto t = c.on_line("CONT\t5\t" + b64(std::string("bob\0bob\0pw", 10)));
  ASSERT_TRUE(t.login) << "an authzid equal to the login name is fine";
  EXPECT_EQ(t.login->user, "bob");
}

TEST(DovecotProtocol, LoginAsksForUserThenPassword) {
  Conversation c = ready();
  auto s = c.on_line("AUTH\t2\tLOGIN\tservice=smtp");
  ASSERT_EQ(s.send.size(), 1u);
  EXPECT_EQ(s.send[0], "CONT\t2\tVXNlcm5hbWU6\n");
  auto u = c.on_line("CONT\t2\t" + b64("carol"));
  ASSERT_EQ(u.send.size(), 1u);
  EXPECT_EQ(u.send[0], "CONT\t2\tUGFzc3dvcmQ6\n");
  auto p = c.on_line("CONT\t2\t" + b64("pw with spaces"));
  ASSERT_TRUE(p.login);
  EXPECT_EQ(p.login->user, "carol");
  EXPECT_EQ(p.login->password.view().reveal(), "pw with spaces");
  auto direct = c.on_line("AUTH\t3\tLOGIN\tservice=smtp\tresp=" + b64("dave"));
  ASSERT_EQ(direct.send.size(), 1u);
  EXPECT_EQ(direct.send[0], "CONT\t3\tUGFzc3dvcmQ6\n") << "a resp= on LOGIN is the user name";
}

TEST(DovecotProtocol, SeveralRequestsAndCancel) {
  Conversation c = ready();
  c.on_line("AUTH\t1\tLOGIN\tservice=smtp");
  c.on_line("AUTH\t2\tPLAIN\tservice=smtp");
  EXPECT_EQ(c.pending(), 2u);
  c.on_line("CANCEL\t1");
  EXPECT_EQ(c.pending(), 1u);
  auto late = c.on_line("CONT\t1\t" + b64("x"));
  ASSERT_EQ(late.send.size(), 1u);
  EXPECT_TRUE(late.send[0].starts_with("FAIL\t1\t"));
  EXPECT_FALSE(c.on_line("AUTH\t2\tPLAIN\tservice=smtp").close.empty()) << "duplicate id in flight";
}

TEST(DovecotProtocol, BadInputFailsOrHangsUpAsDovecotDoes) {
  Conversation c = ready();
  auto bad = c.on_line("AUTH\t1\tPLAIN\tservice=smtp\tresp=!!!");
  ASSERT_EQ(bad.send.size(), 1u);
  EXPECT_EQ(bad.send[0], "FAIL\t1\tcode=invalid_base64\n");
  auto nul = c.on_line("AUTH\t2\tPLAIN\tservice=smtp\tresp=" + b64(std::string("a\0b", 3)));
  ASSERT_EQ(nul.send.size(), 1u) << "one NUL only";
  EXPECT_TRUE(nul.send[0].starts_with("FAIL\t2"));
  auto authz = c.on_line("AUTH\t3\tPLAIN\tservice=smtp\tresp=" + b64(std::string("root\0alice\0pw", 13)));
  ASSERT_EQ(authz.send.size(), 1u);
  EXPECT_EQ(authz.send[0], "FAIL\t3\tuser=alice\tcode=authz_fail\n") << "no logging in as someone else";
  EXPECT_FALSE(authz.login);
  EXPECT_FALSE(ready().on_line("AUTH\t4\tCRAM-MD5\tservice=smtp").close.empty());
  EXPECT_FALSE(ready().on_line("AUTH\t4\tPLAIN").close.empty()) << "service= is required";
  EXPECT_FALSE(ready().on_line("AUTH\t4\tPLAIN\tservice=smtp\tresp=AA==\tlip=1").close.empty()) << "resp= is last";
  EXPECT_FALSE(ready().on_line("AUTH\t0\tPLAIN\tservice=smtp").close.empty());
  EXPECT_FALSE(ready().on_line("BOGUS\t1").close.empty());
  Conversation many = ready();
  std::string why;
  for (int i = 1; i < 100 && why.empty(); ++i) {
    why = many.on_line("AUTH\t" + std::to_string(i) + "\tLOGIN\tservice=smtp").close;
  }
  EXPECT_FALSE(why.empty()) << "requests in flight per connection are bounded";
}

TEST(DovecotProtocol, AReusedIdIsANewRequestTheOldAnswerDoesNotFit) {
  Conversation c = ready();
  auto first = c.on_line("AUTH\t1\tPLAIN\tservice=smtp\tresp=" + b64(std::string("\0alice\0pw", 9)));
  ASSERT_TRUE(first.login);
  c.on_line("CANCEL\t1");
  auto second = c.on_line("AUTH\t1\tPLAIN\tservice=smtp\tresp=" + b64(std::string("\0nosuch\0bad", 11)));
  ASSERT_TRUE(second.login);
  EXPECT_NE(first.login->seq, second.login->seq);
  EXPECT_FALSE(c.finish(1, first.login->seq)) << "the cancelled login's answer must not answer the new request";
  EXPECT_TRUE(c.finish(1, second.login->seq));
}

TEST(DovecotProtocol, UserNamesAreEscapedInReplies) {
  EXPECT_EQ(ok_line(9, "a\tb"), "OK\t9\tuser=a\001tb\n");
  EXPECT_EQ(fail_line(9, ""), "FAIL\t9\n");
}

} // namespace
} // namespace authd::frontend::dovecot
