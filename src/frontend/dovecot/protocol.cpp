#include "protocol.hpp"

#include <charconv>

#include "authd/util/encoding.hpp"

namespace authd::frontend::dovecot {
namespace {

constexpr std::size_t k_max_pending = 32; // requests in flight on one connection

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0;;) {
    const std::size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) {
      return out;
    }
    start = tab + 1;
  }
}

std::optional<std::uint32_t> parse_id(std::string_view text) {
  std::uint32_t id = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || id == 0) {
    return std::nullopt;
  }
  return id;
}

Step hang_up(std::string why) {
  Step s;
  s.close = std::move(why);
  return s;
}

Step say(std::string line) {
  Step s;
  s.send.push_back(std::move(line));
  return s;
}

std::string cont_line(std::uint32_t id, std::string_view challenge) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(challenge.data());
  return "CONT\t" + std::to_string(id) + "\t" + base64_encode(bytes, challenge.size()) + "\n";
}

std::string invalid_base64_line(std::uint32_t id) {
  return "FAIL\t" + std::to_string(id) + "\tcode=invalid_base64\n";
}

// The decoded bytes of a base64 response, wiped when it goes out of scope.
struct Decoded {
  std::optional<Bytes> bytes;
  explicit Decoded(std::string_view b64) : bytes(base64_decode(b64)) {}
  ~Decoded() {
    if (bytes) {
      wipe(bytes->data(), bytes->size());
    }
  }
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes->data()), bytes->size()}; }
};

} // namespace

std::string escape(std::string_view value) {
  std::string out;
  for (const char c : value) {
    switch (c) {
    case '\0': out += "\0010"; break;
    case '\001': out += "\0011"; break;
    case '\t': out += "\001t"; break;
    case '\r': out += "\001r"; break;
    case '\n': out += "\001n"; break;
    default: out += c;
    }
  }
  return out;
}

std::optional<std::string> unescape(std::string_view value) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\001') {
      out += value[i];
      continue;
    }
    if (++i == value.size()) {
      return std::nullopt;
    }
    switch (value[i]) {
    case '0': out += '\0'; break;
    case '1': out += '\001'; break;
    case 't': out += '\t'; break;
    case 'r': out += '\r'; break;
    case 'n': out += '\n'; break;
    default: return std::nullopt;
    }
  }
  return out;
}

std::string handshake(unsigned long pid, unsigned long connection_id, std::string_view cookie_hex) {
  return "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t" + std::to_string(pid) + "\nCUID\t" +
         std::to_string(connection_id) + "\nCOOKIE\t" + std::string(cookie_hex) + "\nDONE\n";
}

std::string ok_line(std::uint32_t id, std::string_view user) {
  return "OK\t" + std::to_string(id) + "\tuser=" + escape(user) + "\n";
}

std::string fail_line(std::uint32_t id, std::string_view user) {
  return "FAIL\t" + std::to_string(id) + (user.empty() ? "" : "\tuser=" + escape(user)) + "\n";
}

Step Conversation::on_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  const auto fields = split_tabs(line);
  std::vector<std::string> args;
  for (std::size_t i = 1; i < fields.size(); ++i) {
    args.emplace_back(fields[i]);
  }
  if (m_state != State::ready) {
    return handshake_line(fields[0], args);
  }
  if (fields[0] == "AUTH") {
    return auth(args);
  }
  if (fields[0] == "CONT") {
    return cont(args);
  }
  if (fields[0] == "CANCEL") {
    if (const auto id = args.empty() ? std::nullopt : parse_id(args[0])) {
      m_requests.erase(*id);
    }
    return {};
  }
  return hang_up("unknown command");
}

Step Conversation::handshake_line(std::string_view command, const std::vector<std::string>& args) {
  if (m_state == State::version) {
    if (command != "VERSION" || args.empty() || args[0] != "1") {
      return hang_up("not a Dovecot auth client (VERSION 1 expected)");
    }
    m_state = State::cpid;
    return {};
  }
  if (command != "CPID" || args.empty() || !parse_id(args[0])) {
    return hang_up("CPID expected after VERSION");
  }
  m_state = State::ready;
  return {};
}

Step Conversation::auth(const std::vector<std::string>& args) {
  const auto id = args.size() < 2 ? std::nullopt : parse_id(args[0]);
  if (!id || m_requests.contains(*id)) {
    return hang_up("AUTH with a missing, zero or duplicate id");
  }
  if (m_requests.size() >= k_max_pending) {
    return hang_up("too many requests in flight");
  }
  Request r;
  const std::string mech = ascii_upper(args[1]);
  if (mech != "PLAIN" && mech != "LOGIN") {
    return hang_up("unsupported mechanism"); // as Dovecot 2.3: no FAIL line
  }
  r.mech = mech == "PLAIN" ? Request::Mech::plain : Request::Mech::login;
  std::optional<std::string> resp;
  bool have_service = false;
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (resp) {
      return hang_up("parameters after resp=");
    }
    const std::string_view a = args[i];
    const std::size_t eq = a.find('=');
    const std::string_view name = a.substr(0, eq);
    auto value = unescape(eq == std::string_view::npos ? "" : a.substr(eq + 1));
    if (!value) {
      return hang_up("bad escape in a parameter");
    }
    if (name == "service") {
      r.service = std::move(*value);
      have_service = true;
    } else if (name == "rip") {
      r.remote_ip = std::move(*value);
    } else if (name == "resp") {
      resp = std::move(*value);
    } // lip, secured, nologin, session, ... are not needed
  }
  if (!have_service || r.service.empty()) {
    return hang_up("AUTH without service=");
  }
  r.seq = ++m_next_seq;
  auto& stored = m_requests[*id] = std::move(r);
  if (stored.mech == Request::Mech::plain) {
    if (!resp) {
      return say(cont_line(*id, ""));
    }
    return answer(*id, stored, *resp);
  }
  stored.wait = Request::Wait::username;
  if (!resp || resp->empty()) {
    return say(cont_line(*id, "Username:"));
  }
  return answer(*id, stored, *resp);
}

Step Conversation::cont(const std::vector<std::string>& args) {
  const auto id = args.empty() ? std::nullopt : parse_id(args[0]);
  if (!id) {
    return hang_up("CONT without an id");
  }
  const auto it = m_requests.find(*id);
  if (it == m_requests.end() || it->second.wait == Request::Wait::core) {
    return say("FAIL\t" + std::to_string(*id) + "\treason=Authentication request timed out\n");
  }
  return answer(*id, it->second, args.size() > 1 ? std::string_view(args[1]) : std::string_view());
}

// One client response (base64) to request `id`.
Step Conversation::answer(std::uint32_t id, Request& r, std::string_view response_b64) {
  const Decoded data(response_b64);
  if (!data.bytes) {
    m_requests.erase(id);
    return say(invalid_base64_line(id));
  }
  const std::string_view text = data.view();
  if (r.mech == Request::Mech::login && r.wait == Request::Wait::username) {
    r.user = std::string(text);
    r.wait = Request::Wait::password;
    return say(cont_line(id, "Password:"));
  }
  std::string_view password = text;
  if (r.mech == Request::Mech::plain) { // authzid \0 authcid \0 password
    const std::size_t a = text.find('\0');
    const std::size_t b = a == std::string_view::npos ? a : text.find('\0', a + 1);
    if (b == std::string_view::npos || text.find('\0', b + 1) != std::string_view::npos) {
      m_requests.erase(id);
      return say(fail_line(id, ""));
    }
    const std::string_view authzid = text.substr(0, a);
    r.user = std::string(text.substr(a + 1, b - a - 1));
    password = text.substr(b + 1);
    if (!authzid.empty() && authzid != r.user) {
      const std::string user = r.user;
      m_requests.erase(id);
      return say("FAIL\t" + std::to_string(id) + "\tuser=" + escape(user) + "\tcode=authz_fail\n");
    }
  }
  r.wait = Request::Wait::core;
  Step s;
  s.login = Login{id, r.seq, r.user, SecretString(password), r.service, r.remote_ip};
  return s;
}

bool Conversation::finish(std::uint32_t id, std::uint64_t seq) {
  const auto it = m_requests.find(id);
  if (it == m_requests.end() || it->second.seq != seq) {
    return false;
  }
  m_requests.erase(it);
  return true;
}

} // namespace authd::frontend::dovecot
