#include <gtest/gtest.h>

#include <unistd.h>

#include "authd/util/encoding.hpp"
#include "authd/util/net.hpp"
#include "authd/util/read_secret.hpp"
#include "authd/util/secret.hpp"

namespace authd {
namespace {

TEST(SecretString, HoldsBytesIncludingNul) {
  SecretString s(std::string_view("a\0b", 3));
  EXPECT_EQ(s.size(), 3U);
  EXPECT_EQ(s.view().reveal(), std::string_view("a\0b", 3));
  s.append("cd");
  EXPECT_EQ(s.view().reveal(), std::string_view("a\0bcd", 5));
  EXPECT_EQ(s.data()[5], '\0') << "always NUL-terminated for C APIs";
}

TEST(SecretString, MoveLeavesSourceEmpty) {
  SecretString a("secret");
  SecretString b(std::move(a));
  EXPECT_EQ(b.view().reveal(), "secret");
  EXPECT_TRUE(a.empty()); // NOLINT(bugprone-use-after-move): the contract under test
  SecretString c;
  c = std::move(b);
  EXPECT_EQ(c.view().reveal(), "secret");
  EXPECT_TRUE(b.empty()); // NOLINT(bugprone-use-after-move)
}

TEST(SecretString, ClearAndResizeWipeTheBytes) {
  SecretString s("secret-value");
  const char* p = s.data();
  s.resize_down(6);
  EXPECT_EQ(s.view().reveal(), "secret");
  EXPECT_EQ(p[6], '\0') << "cut bytes are wiped";
  s.clear();
  EXPECT_TRUE(s.empty());
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(p[i], '\0');
  }
}

TEST(SecretString, GrowthKeepsContent) {
  SecretString s;
  std::string expect;
  for (int i = 0; i < 1000; ++i) {
    s.push_back(static_cast<char>('a' + i % 26));
    expect.push_back(static_cast<char>('a' + i % 26));
  }
  EXPECT_EQ(s.view().reveal(), expect);
}

TEST(Encoding, HexRoundTripAndStrictness) {
  const Bytes raw = {0x00, 0xff, 0x10, 0xab};
  EXPECT_EQ(hex_encode(raw), "00ff10ab");
  EXPECT_EQ(hex_encode(raw, true), "00FF10AB");
  EXPECT_EQ(*hex_decode("00FF10ab"), raw);
  EXPECT_FALSE(hex_decode("abc"));
  EXPECT_FALSE(hex_decode("zz"));
  EXPECT_FALSE(hex_decode("0 ff"));
}

TEST(Encoding, Base64RoundTripAndStrictness) {
  const Bytes raw = {'p', 'a', 's', 's'};
  EXPECT_EQ(base64_encode(raw), "cGFzcw==");
  EXPECT_EQ(*base64_decode("cGFzcw=="), raw);
  EXPECT_FALSE(base64_decode("cGFzcw"));    // padding required
  EXPECT_FALSE(base64_decode("cGF*cw=="));  // alphabet
  EXPECT_FALSE(base64_decode(""));
  EXPECT_FALSE(base64_decode("cGFzcw==AAAA"));
}

TEST(Encoding, AsciiCaseMappingLeavesOtherBytesAlone) {
  EXPECT_EQ(ascii_lower("AbC-Z09\xc3\x84"), "abc-z09\xc3\x84");
  EXPECT_EQ(ascii_upper("blf-crypt.b64\xc3\xa4"), "BLF-CRYPT.B64\xc3\xa4");
  EXPECT_EQ(ascii_lower(""), "");
}

Result<SecretString> read_through_pipe(const std::string& data, std::size_t cap) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  EXPECT_EQ(::write(fds[1], data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fds[1]);
  auto r = read_secret(fds[0], cap);
  ::close(fds[0]);
  return r;
}

TEST(ReadSecret, ReadsToEofUpToTheCap) {
  auto ok = read_through_pipe(std::string("pw\0with\nbytes", 14), 14);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->view().reveal(), std::string_view("pw\0with\nbytes", 14));
  auto big = read_through_pipe(std::string(2000, 'x'), 1999);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().kind, ErrorKind::invalid_input);
  EXPECT_EQ(big.error().message, "longer than 1999 bytes");
  auto bad = read_secret(-1, 10);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::internal);
}

TEST(Encoding, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

} // namespace
} // namespace authd

// ---- IP addresses, CIDR networks, X-Forwarded-For ----
namespace authd {
namespace {

std::vector<Cidr> nets(std::initializer_list<const char*> texts) {
  std::vector<Cidr> out;
  for (const char* t : texts) {
    out.push_back(*parse_cidr(t));
  }
  return out;
}

TEST(Net, ParsesAndCanonicalisesAddresses) {
  EXPECT_EQ(to_string(*parse_ip("127.0.0.1")), "127.0.0.1");
  EXPECT_EQ(to_string(*parse_ip("::ffff:127.0.0.1")), "127.0.0.1") << "IPv4-mapped is the IPv4 address";
  EXPECT_EQ(to_string(*parse_ip("2001:DB8:0:0::1")), "2001:db8::1");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "1.2.3.4:80", "[::1]", "fe80::1%eth0", "localhost", " 1.2.3.4", "01.2.3.4x"}) {
    EXPECT_FALSE(parse_ip(bad)) << bad;
  }
}

TEST(Net, CidrMembership) {
  const auto lo = nets({"127.0.0.0/8", "::1/128"});
  EXPECT_TRUE(contains_any(lo, *parse_ip("127.1.2.3")));
  EXPECT_TRUE(contains_any(lo, *parse_ip("::ffff:127.0.0.9")));
  EXPECT_TRUE(contains_any(lo, *parse_ip("::1")));
  EXPECT_FALSE(contains_any(lo, *parse_ip("128.0.0.1")));
  EXPECT_FALSE(contains_any(lo, *parse_ip("::2")));
  EXPECT_TRUE(contains(*parse_cidr("10.1.2.3/8"), *parse_ip("10.200.0.1"))) << "host bits of the network are ignored";
  EXPECT_TRUE(contains(*parse_cidr("0.0.0.0/0"), *parse_ip("8.8.8.8")));
  EXPECT_FALSE(contains(*parse_cidr("0.0.0.0/0"), *parse_ip("2001:db8::1"))) << "an IPv4 /0 is not every IPv6 address";
  EXPECT_TRUE(contains(*parse_cidr("2001:db8::/32"), *parse_ip("2001:db8:ffff::1")));
  EXPECT_TRUE(contains(*parse_cidr("192.0.2.7"), *parse_ip("192.0.2.7")));
  EXPECT_FALSE(contains(*parse_cidr("192.0.2.7"), *parse_ip("192.0.2.8")));
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "bogus/8", "/8"}) {
    EXPECT_FALSE(parse_cidr(bad)) << bad;
  }
}

TEST(Net, ForwardedForIsReadRightToLeftSkippingTrustedHops) {
  const auto trusted = nets({"127.0.0.0/8", "10.0.0.0/8"});
  const auto lo = *parse_ip("127.0.0.1");
  // nginx's $proxy_add_x_forwarded_for: whatever the client sent, then the address nginx saw.
  EXPECT_EQ(forwarded_client(lo, "6.6.6.6, 203.0.113.5", trusted), "203.0.113.5");
  EXPECT_EQ(forwarded_client(lo, "203.0.113.5, 10.1.1.1", trusted), "203.0.113.5") << "a second trusted proxy is skipped";
  EXPECT_EQ(forwarded_client(lo, "garbage, 203.0.113.5", trusted), "203.0.113.5");
  EXPECT_EQ(forwarded_client(lo, "203.0.113.5 , garbage", trusted), "127.0.0.1") << "garbage stops the walk at the last trusted hop";
  EXPECT_EQ(forwarded_client(lo, "10.2.2.2", trusted), "10.2.2.2") << "only trusted hops: the leftmost";
  EXPECT_EQ(forwarded_client(lo, "", trusted), "127.0.0.1");
  EXPECT_EQ(forwarded_client(*parse_ip("198.51.100.1"), "203.0.113.5", trusted), "198.51.100.1") << "an untrusted peer's header is ignored";
  EXPECT_EQ(forwarded_client(std::nullopt, "", trusted), "") << "socket peer without a header";
  EXPECT_EQ(forwarded_client(std::nullopt, "6.6.6.6, 203.0.113.5", trusted), "203.0.113.5") << "socket peer behind a local proxy";
  EXPECT_EQ(forwarded_client(lo, "2001:DB8::1", trusted), "2001:db8::1");
}

} // namespace
} // namespace authd

TEST(Encoding, Utf8LengthCountsCodePointsOfWellFormedTextOnly) {
  EXPECT_EQ(authd::utf8_length(""), 0u);
  EXPECT_EQ(authd::utf8_length("abc"), 3u);
  EXPECT_EQ(authd::utf8_length("p\xc3\xa4ss \xe2\x82\xac \xf0\x9f\x94\x91"), 8u);
  for (const char* bad : {"\xff", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\x80"}) {
    EXPECT_FALSE(authd::utf8_length(bad)) << bad;
  }
}
