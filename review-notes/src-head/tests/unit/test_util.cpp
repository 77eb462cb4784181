#include <gtest/gtest.h>

#include <unistd.h>

#include "authd/util/encoding.hpp"
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
