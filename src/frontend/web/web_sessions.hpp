#pragma once
// Signed-in sessions of the self-service page, in memory (a restart signs everybody out). The
// cookie holds 256 random bits; the table is keyed by their BLAKE2b, so a lookup compares no
// secret and a memory dump holds no cookie. Bounded: idle and absolute lifetimes, at most
// max_sessions in all (the longest-unused ends first) and 8 per account (its oldest ends first).
// Only a correct password opens one; a sign-in form needs no server state (its CSRF token is a
// keyed hash of the pre-session cookie), so a flood of anonymous visitors holds no memory here.
#include <chrono>
#include <cstdint>
#include <cstddef>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace authd::frontend::web {

using Clock = std::chrono::steady_clock;

struct SessionLimits {
  std::chrono::seconds idle{900};
  std::chrono::seconds max{43200};
  std::size_t max_sessions = 10000;
  std::size_t per_account = 8;
};

struct WebSession {
  std::string user; // canonical name
  // The account signed in to: a session ends when the name's account is another one (deleted and
  // made again) or its password was set since (by the page, by authctl).
  std::int64_t account_id = 0;
  std::int64_t password_changed_at = 0;
  std::string csrf; // the token every form of this session carries
  Clock::time_point created;
  Clock::time_point last_used;
};

class WebSessions {
public:
  explicit WebSessions(SessionLimits limits);
  void configure(SessionLimits limits);

  // A new session; returns its cookie value.
  std::string open(const std::string& user, std::int64_t account_id, std::int64_t password_changed_at,
                   Clock::time_point now = Clock::now());
  // The session's own password change: it stays bound to the account.
  void rebind(std::string_view cookie, std::int64_t password_changed_at);
  // The live session of a cookie value (and marks it used), else nullopt.
  std::optional<WebSession> find(std::string_view cookie, Clock::time_point now = Clock::now());
  void close(std::string_view cookie);
  // Ends every session of the account but `keep` (a password change, a disabled account).
  void close_account(const std::string& user, std::string_view keep = {});
  std::size_t size() const;

  // What the next page of the session shows once (Post/Redirect/Get): a notice, an error, and the
  // app passwords just made, one per line (wiped when taken or when the session ends; a second
  // one made before the page was seen is added, not put in the first one's place).
  struct Flash {
    std::string notice, error, secret;
  };
  void set_flash(std::string_view cookie, Flash flash);
  Flash take_flash(std::string_view cookie);

  // A fresh random value for the pre-session cookie, and the sign-in form's token bound to it and
  // to the time it was made (unix seconds): it is good for an hour.
  static std::string random_token();
  std::string signin_token(std::string_view pre_cookie, std::int64_t now) const;
  bool signin_token_ok(std::string_view pre_cookie, std::string_view token, std::int64_t now) const;

private:
  struct Entry {
    WebSession session;
    Flash flash;
    std::list<std::string>::iterator lru; // position in m_lru (front: most recently used)
  };
  std::string key_of(std::string_view cookie) const;
  void erase(std::map<std::string, Entry>::iterator it);
  void expire(Clock::time_point now);

  mutable std::mutex m_mutex;
  SessionLimits m_limits;
  unsigned char m_key[32]; // for signin_token and key_of, random per process
  std::map<std::string, Entry> m_sessions; // key_of(cookie) -> session
  std::list<std::string> m_lru;
};

} // namespace authd::frontend::web
