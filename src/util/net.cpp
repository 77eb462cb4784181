#include "authd/util/net.hpp"

#include <algorithm>
#include <charconv>

#include <arpa/inet.h>

namespace authd {

bool IpAddress::v4() const noexcept {
  static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::equal(mapped, mapped + 12, bytes.begin());
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.empty() || text.size() > 45) {
    return std::nullopt;
  }
  const std::string s(text);
  IpAddress ip;
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    ip.bytes[10] = 0xff;
    ip.bytes[11] = 0xff;
    const auto* b = reinterpret_cast<const std::uint8_t*>(&v4.s_addr);
    std::copy(b, b + 4, ip.bytes.begin() + 12);
    return ip;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, s.c_str(), &v6) != 1) {
    return std::nullopt;
  }
  std::copy(v6.s6_addr, v6.s6_addr + 16, ip.bytes.begin());
  return ip;
}

std::string to_string(const IpAddress& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ip.v4()) {
    ::inet_ntop(AF_INET, ip.bytes.data() + 12, buf, sizeof buf);
  } else {
    ::inet_ntop(AF_INET6, ip.bytes.data(), buf, sizeof buf);
  }
  return buf;
}

Result<Cidr> parse_cidr(std::string_view text) {
  const std::size_t slash = text.find('/');
  const auto ip = parse_ip(text.substr(0, slash));
  if (!ip) {
    std::string why = "'";
    why.append(text).append("' is not an address or CIDR network");
    return fail(ErrorKind::invalid_input, why);
  }
  Cidr net{*ip, 128};
  if (slash != std::string_view::npos) {
    const std::string_view bits = text.substr(slash + 1);
    int n = -1;
    const auto [p, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
    const int max = ip->v4() ? 32 : 128;
    if (bits.empty() || ec != std::errc() || p != bits.data() + bits.size() || n < 0 || n > max) {
      std::string why = "'";
      why.append(text).append("': the prefix length must be 0..").append(std::to_string(max));
      return fail(ErrorKind::invalid_input, why);
    }
    net.prefix = ip->v4() ? 96 + n : n;
  }
  for (int bit = net.prefix; bit < 128; ++bit) { // the network address itself
    net.network.bytes[static_cast<std::size_t>(bit / 8)] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  return net;
}

bool contains(const Cidr& net, const IpAddress& ip) {
  for (int bit = 0; bit < net.prefix; ++bit) {
    const auto i = static_cast<std::size_t>(bit / 8);
    const auto mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
    if ((net.network.bytes[i] & mask) != (ip.bytes[i] & mask)) {
      return false;
    }
  }
  return true;
}

bool contains_any(const std::vector<Cidr>& nets, const IpAddress& ip) {
  for (const Cidr& n : nets) {
    if (contains(n, ip)) {
      return true;
    }
  }
  return false;
}

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}
} // namespace

std::string forwarded_client(const std::optional<IpAddress>& peer, std::string_view forwarded,
                             const std::vector<Cidr>& trusted) {
  std::optional<IpAddress> client = peer;
  if (peer && !contains_any(trusted, *peer)) {
    return to_string(*peer);
  }
  while (!forwarded.empty()) {
    const std::size_t comma = forwarded.rfind(',');
    const std::string_view entry = trim(comma == std::string_view::npos ? forwarded : forwarded.substr(comma + 1));
    forwarded = comma == std::string_view::npos ? std::string_view{} : forwarded.substr(0, comma);
    const auto ip = parse_ip(entry);
    if (!ip) {
      break; // garbage written by the client: the last trusted hop is what we know
    }
    client = *ip;
    if (!contains_any(trusted, *ip)) {
      break;
    }
  }
  return client ? to_string(*client) : std::string();
}

namespace {

std::string shown(std::string_view text) { // for an error message: no control characters
  std::string out;
  for (const char c : text) {
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  }
  return out;
}

} // namespace

Result<ListenAddress> parse_listen(std::string_view text) {
  ListenAddress a;
  const auto bad = [&](const std::string& why) {
    return fail(ErrorKind::invalid_input, "listen '" + shown(text) + "': " + why);
  };
  if (text.starts_with("unix:")) {
    a.unix_socket = true;
    a.host = std::string(text.substr(5));
    if (a.host.empty() || a.host.front() != '/') {
      return bad("unix: needs an absolute path");
    }
    if (a.host.size() >= 108) { // sizeof(sockaddr_un::sun_path), with its terminating NUL
      return bad("a UNIX socket path must be shorter than 108 bytes");
    }
    if (shown(a.host) != a.host) {
      return bad("control characters in a socket path");
    }
    return a;
  }
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return bad("need HOST:PORT, [V6]:PORT or unix:/path");
  }
  std::string_view host = text.substr(0, colon);
  const bool bracketed = host.starts_with('[') && host.ends_with(']') && host.size() > 2;
  if (bracketed) {
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view port = text.substr(colon + 1);
  const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (ec != std::errc() || p != port.data() + port.size() || a.port < 1 || a.port > 65535) {
    return bad("the port must be a number from 1 to 65535");
  }
  const auto ip = parse_ip(host);
  if (!ip) {
    return bad("the host must be a numeric address (127.0.0.1, [::1]), not a name");
  }
  if ((host.find(':') != std::string_view::npos) != bracketed) {
    return bad(bracketed ? "brackets are for IPv6 addresses" : "an IPv6 address goes in brackets: [::1]:8425");
  }
  a.host = std::string(host);
  return a;
}

std::string describe(const ListenAddress& a) {
  return a.unix_socket ? "unix:" + a.host : (a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host) + ":" +
                                               std::to_string(a.port);
}

std::size_t url_userinfo_end(std::string_view rest) noexcept {
  return rest.substr(0, rest.find('?')).rfind('@');
}

} // namespace authd
