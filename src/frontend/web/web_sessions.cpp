#include "web_sessions.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

#include <sodium.h>

#include "authd/util/encoding.hpp"
#include "authd/util/secret.hpp"

namespace authd::frontend::web {

WebSessions::WebSessions(SessionLimits limits) : m_limits(limits) { randombytes_buf(m_key, sizeof m_key); }

void WebSessions::configure(SessionLimits limits) {
  std::lock_guard lock(m_mutex);
  m_limits = limits;
}

std::string WebSessions::random_token() {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string out = hex_encode(raw, sizeof raw);
  wipe(raw, sizeof raw);
  return out;
}

std::string WebSessions::key_of(std::string_view cookie) const {
  unsigned char out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(cookie.data()), cookie.size(), m_key,
                     sizeof m_key);
  return hex_encode(out, sizeof out);
}

namespace {
constexpr std::int64_t k_signin_form_s = 3600;
}

std::string WebSessions::signin_token(std::string_view pre_cookie, std::int64_t now) const {
  char made[17];
  std::snprintf(made, sizeof made, "%016llx", static_cast<unsigned long long>(now));
  return key_of(std::string("sign-in form\n").append(pre_cookie).append("\n").append(made)) + made;
}

bool WebSessions::signin_token_ok(std::string_view pre_cookie, std::string_view token, std::int64_t now) const {
  if (token.size() != 80 || !is_hex(token)) {
    return false;
  }
  const std::int64_t made = static_cast<std::int64_t>(std::stoull(std::string(token.substr(64)), nullptr, 16));
  return made <= now && now - made < k_signin_form_s && constant_time_equal(token, signin_token(pre_cookie, made));
}

void WebSessions::erase(std::map<std::string, Entry>::iterator it) {
  std::string& secret = it->second.flash.secret;
  wipe(secret.data(), secret.size());
  m_lru.erase(it->second.lru);
  m_sessions.erase(it);
}

// The least recently used sessions sit at the back: idle ones end from there. A session past its
// absolute lifetime ends when it is next looked up (find) or pushed out.
void WebSessions::expire(Clock::time_point now) {
  while (!m_lru.empty()) {
    const auto it = m_sessions.find(m_lru.back());
    if (now - it->second.session.last_used < m_limits.idle) {
      break;
    }
    erase(it);
  }
}

std::string WebSessions::open(const std::string& user, std::int64_t account_id, std::int64_t password_changed_at,
                              Clock::time_point now) {
  std::string cookie = random_token();
  std::lock_guard lock(m_mutex);
  expire(now);
  std::vector<std::map<std::string, Entry>::iterator> mine;
  for (auto it = m_sessions.begin(); it != m_sessions.end(); ++it) {
    if (it->second.session.user == user) {
      mine.push_back(it);
    }
  }
  std::sort(mine.begin(), mine.end(), [](const auto& a, const auto& b) { return a->second.session.created < b->second.session.created; });
  for (std::size_t i = 0; i + m_limits.per_account <= mine.size(); ++i) {
    erase(mine[i]);
  }
  while (!m_lru.empty() && m_sessions.size() >= m_limits.max_sessions) {
    erase(m_sessions.find(m_lru.back()));
  }
  const std::string key = key_of(cookie);
  m_lru.push_front(key);
  m_sessions.emplace(key, Entry{WebSession{user, account_id, password_changed_at, random_token(), now, now}, Flash{}, m_lru.begin()});
  return cookie;
}

std::optional<WebSession> WebSessions::find(std::string_view cookie, Clock::time_point now) {
  if (cookie.size() != 64) {
    return std::nullopt;
  }
  const std::string key = key_of(cookie);
  std::lock_guard lock(m_mutex);
  const auto it = m_sessions.find(key);
  if (it == m_sessions.end()) {
    return std::nullopt;
  }
  WebSession& s = it->second.session;
  if (now - s.last_used >= m_limits.idle || now - s.created >= m_limits.max) {
    erase(it);
    return std::nullopt;
  }
  s.last_used = now;
  m_lru.splice(m_lru.begin(), m_lru, it->second.lru);
  return s;
}

void WebSessions::close(std::string_view cookie) {
  std::lock_guard lock(m_mutex);
  if (const auto it = m_sessions.find(key_of(cookie)); it != m_sessions.end()) {
    erase(it);
  }
}

void WebSessions::close_account(const std::string& user, std::string_view keep) {
  const std::string kept = keep.empty() ? std::string() : key_of(keep);
  std::lock_guard lock(m_mutex);
  for (auto it = m_sessions.begin(); it != m_sessions.end();) {
    const auto next = std::next(it);
    if (it->second.session.user == user && it->first != kept) {
      erase(it);
    }
    it = next;
  }
}

void WebSessions::rebind(std::string_view cookie, std::int64_t password_changed_at) {
  std::lock_guard lock(m_mutex);
  if (const auto it = m_sessions.find(key_of(cookie)); it != m_sessions.end()) {
    it->second.session.password_changed_at = password_changed_at;
  }
}

void WebSessions::set_flash(std::string_view cookie, Flash flash) {
  std::lock_guard lock(m_mutex);
  if (const auto it = m_sessions.find(key_of(cookie)); it != m_sessions.end()) {
    std::string& kept = it->second.flash.secret;
    if (!kept.empty()) {
      std::string both;
      both.reserve(kept.size() + 1 + flash.secret.size()); // one buffer: no copy left unwiped
      both.append(kept);
      if (!flash.secret.empty()) {
        both.append("\n").append(flash.secret);
      }
      wipe(flash.secret.data(), flash.secret.size());
      flash.secret.swap(both);
    }
    wipe(kept.data(), kept.size());
    it->second.flash = std::move(flash);
  } else {
    wipe(flash.secret.data(), flash.secret.size());
  }
}

WebSessions::Flash WebSessions::take_flash(std::string_view cookie) {
  std::lock_guard lock(m_mutex);
  const auto it = m_sessions.find(key_of(cookie));
  return it == m_sessions.end() ? Flash{} : std::exchange(it->second.flash, Flash{});
}

std::size_t WebSessions::size() const {
  std::lock_guard lock(m_mutex);
  return m_sessions.size();
}

} // namespace authd::frontend::web
