#pragma once
// IP addresses and CIDR networks: trusted proxies, and the source keys of the throttle.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authd/util/result.hpp"

namespace authd {

// An IPv4 or IPv6 address; IPv4 is kept as an IPv4-mapped IPv6 address (::ffff:a.b.c.d), so
// "127.0.0.1" and "::ffff:127.0.0.1" are one address.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};
  bool v4() const noexcept; // an IPv4-mapped address
  bool operator==(const IpAddress&) const = default;
};

// Parses a literal address (no port, no brackets, no zone); nullopt for anything else.
std::optional<IpAddress> parse_ip(std::string_view text);

// The canonical text form: dotted quad for IPv4, RFC 5952 for IPv6.
std::string to_string(const IpAddress& ip);

struct Cidr {
  IpAddress network;
  int prefix = 0; // in bits of the 128-bit form
};

// "10.0.0.0/8", "::1/128", or a bare address (a host); an error names what is wrong.
Result<Cidr> parse_cidr(std::string_view text);
bool contains(const Cidr& net, const IpAddress& ip);
bool contains_any(const std::vector<Cidr>& nets, const IpAddress& ip);

// The client address behind a chain of proxies: `peer` is the connected address (nullopt: a
// UNIX-socket peer, trusted and without an address), `forwarded` the X-Forwarded-For value (may
// be empty). When the peer is trusted, the header is read right to left, skipping trusted hops
// (nginx's real_ip_recursive); the first untrusted entry is the client. An entry that is not an
// address stops the walk at the last trusted hop. An untrusted peer's header is ignored.
// Returns the canonical text of the address, "" when nothing is known (socket, no header).
std::string forwarded_client(const std::optional<IpAddress>& peer, std::string_view forwarded,
                             const std::vector<Cidr>& trusted);

// A listener address: "127.0.0.1:8425", "[::1]:8425", "unix:/run/authd/authd.sock".
struct ListenAddress {
  bool unix_socket = false;
  std::string host; // TCP: address; UNIX: path
  int port = 0;
};
Result<ListenAddress> parse_listen(std::string_view text);
// The address as written in a config: "unix:/path", "127.0.0.1:8425", "[::1]:8425".
std::string describe(const ListenAddress& address);

// Where the user-info of a URL's authority ends: `rest` is what follows "scheme://"; the result
// is the position of the '@' that ends "USER:PASS" (the last '@' before any '?', so a raw '@' in
// the password is tolerated), or npos. The one rule for the store's parser and every redaction.
std::size_t url_userinfo_end(std::string_view rest) noexcept;

} // namespace authd
