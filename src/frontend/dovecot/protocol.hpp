#pragma once
// The Dovecot auth-client protocol v1, server side (shared/docs/PROTOCOLS.md §2), without any I/O:
// a Conversation takes the client's lines and says what to send, which login to run and when to
// hang up; the listener (session.cpp) does the reading, writing and waiting. PLAIN (with and
// without initial response) and LOGIN; several requests in flight per connection; CANCEL.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authd/util/secret.hpp"

namespace authd::frontend::dovecot {

constexpr std::size_t k_max_line = 16384; // longer: the connection is closed (as Dovecot does)

// \001 escaping of values: NUL, \001, TAB, CR, LF.
std::string escape(std::string_view value);
std::optional<std::string> unescape(std::string_view value);

// The 2.3-style server handshake, one write, MECH lines before SPID, well under 1024 bytes.
std::string handshake(unsigned long pid, unsigned long connection_id, std::string_view cookie_hex);

// A login the listener must run through the core, for request `id`.
struct Login {
  std::uint32_t id = 0;
  std::uint64_t seq = 0; // which request of this connection: an id may be reused after CANCEL
  std::string user;
  SecretString password;
  std::string service;
  std::string remote_ip; // rip= (may be empty)
};

// What one client line asks of the listener, in order: lines to send, then a login to start, or a
// reason to close (a protocol violation: the real Dovecot hangs up too).
struct Step {
  std::vector<std::string> send;
  std::optional<Login> login;
  std::string close; // non-empty: close the connection (the why, for the log and the metric)
};

class Conversation {
public:
  Step on_line(std::string_view line);
  // Login `seq` (request `id`) is answered: whether that very request is still wanted (not
  // cancelled, its id not reused since) — then the caller sends its OK or FAIL line (ok_line /
  // fail_line) and it is forgotten.
  bool finish(std::uint32_t id, std::uint64_t seq);
  std::size_t pending() const { return m_requests.size(); }
  bool ready() const { return m_state == State::ready; }

private:
  enum class State { version, cpid, ready };
  struct Request {
    enum class Mech { plain, login } mech = Mech::plain;
    enum class Wait { response, username, password, core } wait = Wait::response;
    std::string service, remote_ip, user;
    std::uint64_t seq = 0;
  };
  Step handshake_line(std::string_view command, const std::vector<std::string>& args);
  Step auth(const std::vector<std::string>& args);
  Step cont(const std::vector<std::string>& args);
  Step answer(std::uint32_t id, Request& r, std::string_view response_b64);

  State m_state = State::version;
  std::uint64_t m_next_seq = 0;
  std::map<std::uint32_t, Request> m_requests;
};

std::string ok_line(std::uint32_t id, std::string_view user);
// A rejected login. A temporary failure gets no line: the connection is closed, because Postfix
// answers 535 to every FAIL whatever its code= and only a lost connection gives its 454.
std::string fail_line(std::uint32_t id, std::string_view user);

} // namespace authd::frontend::dovecot
