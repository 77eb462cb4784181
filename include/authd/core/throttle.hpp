#pragma once
// Dovecot-style penalties, per source and per account.
//   source  = the client's IPv4 address or IPv6 /64 (source_of); "" (unknown: the UNIX socket or
//             a trusted proxy that forwarded nothing) has no per-source penalty.
//   account = after `account_free_failures` failures, attempts from *unfamiliar* sources wait too;
//             familiar sources (a recent successful login of that account) are the caller's to
//             know (the store keeps them; remembered here as a cache).
// Each counted failure doubles the wait (initial_ms .. max_ms); a failure repeating one of the
// last wrong (user, password) pairs of that key only re-arms the current wait (a phone retrying
// an old password does not escalate). A key quiet for 4 × max_ms starts again from zero. Memory
// is bounded: least recently used keys are evicted first, one at a time.
#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "authd/config/config.hpp"
#include "authd/util/secret.hpp"

namespace authd::core {

// A bounded map with least-recently-used eviction (not thread-safe; Throttle locks).
template <class V>
class LruMap {
public:
  explicit LruMap(std::size_t capacity) : m_capacity(capacity < 1 ? 1 : capacity) {}
  V* find(const std::string& key) {
    const auto it = m_map.find(key);
    return it == m_map.end() ? nullptr : &it->second.value;
  }
  const V* find(const std::string& key) const {
    const auto it = m_map.find(key);
    return it == m_map.end() ? nullptr : &it->second.value;
  }
  // The entry for key, created (evicting the least recently used) if absent; marked as used.
  V& touch(const std::string& key) {
    auto it = m_map.find(key);
    if (it != m_map.end()) {
      m_order.splice(m_order.begin(), m_order, it->second.pos);
      return it->second.value;
    }
    if (m_map.size() >= m_capacity) {
      m_map.erase(m_order.back());
      m_order.pop_back();
    }
    m_order.push_front(key);
    return m_map.emplace(key, Node{V{}, m_order.begin()}).first->second.value;
  }
  void erase(const std::string& key) {
    const auto it = m_map.find(key);
    if (it != m_map.end()) {
      m_order.erase(it->second.pos);
      m_map.erase(it);
    }
  }
  std::size_t size() const { return m_map.size(); }
  // A new bound; the least recently used entries beyond it go now.
  void set_capacity(std::size_t capacity) {
    m_capacity = capacity < 1 ? 1 : capacity;
    while (m_map.size() > m_capacity) {
      m_map.erase(m_order.back());
      m_order.pop_back();
    }
  }

private:
  struct Node {
    V value;
    std::list<std::string>::iterator pos;
  };
  std::size_t m_capacity;
  std::list<std::string> m_order; // most recent first
  std::unordered_map<std::string, Node> m_map;
};

class Throttle {
public:
  using Clock = std::chrono::steady_clock;
  explicit Throttle(config::ThrottleConfig config);

  // "198.51.100.7", "2001:db8:1:2::/64"; "" for an empty or unparsable address.
  static std::string source_of(std::string_view ip);
  // What familiarity is recorded under: the source, or "local" for logins that come without an
  // address (a local relay such as Nextcloud's user_external, the socket without remote_ip), so
  // that channel, too, is familiar to the accounts that use it.
  static std::string familiar_key(const std::string& source) { return source.empty() ? "local" : source; }
  // A keyed hash of (user, password): what "the same wrong password again" is recognised by.
  std::uint64_t pair_hash(std::string_view user, SecretView password) const;

  // How long an attempt from this source must still wait; zero = go ahead, and then this attempt
  // takes the window: the next one from the source waits a full delay again, so many parallel
  // connections of one source get one attempt per delay, not one each.
  // `capped`: the account logged in from this source recently and has no recent failures of its
  // own — then the source's wait is capped at initial_ms (held, never refused: a sprayer behind
  // an office NAT or a webmail must not keep that address's own users out).
  std::chrono::milliseconds admit_source(const std::string& source, Clock::time_point now, bool capped = false);
  // No recent failures for this account.
  bool account_clean(const std::string& user, Clock::time_point now) const;
  // The same for the account's own penalty (past its free failures), for unfamiliar sources.
  std::chrono::milliseconds admit_account(const std::string& user, Clock::time_point now);
  // Recent counted failures on the source, or on the account from a source not known familiar.
  bool suspect(const std::string& source, const std::string& user) const;

  void failure(const std::string& source, const std::string& user, std::uint64_t pair, Clock::time_point now);
  // A successful login: the source's penalty is cleared and the source is remembered as familiar
  // for the account (the account's own penalty stays: a stranger's failures are not forgiven).
  void success(const std::string& source, const std::string& user);
  bool known_familiar(const std::string& user, const std::string& source) const;
  void remember_familiar(const std::string& user, const std::string& source);

  std::size_t tracked() const;
  config::ThrottleConfig config() const;
  // A SIGHUP reload: new delays and bounds; the penalties already earned stay.
  void reconfigure(const config::ThrottleConfig& config);

private:
  struct Entry {
    int failures = 0;
    Clock::time_point last{};
    std::array<std::uint64_t, 4> pairs{}; // the last wrong pairs (keyed hashes), ring
    unsigned next = 0;
  };
  std::chrono::milliseconds delay(int counted_failures) const;
  std::chrono::milliseconds admit(const std::string& key, int free, Clock::time_point now, bool capped);
  void count(const std::string& key, std::uint64_t pair, Clock::time_point now);

  config::ThrottleConfig m_config;
  std::array<unsigned char, 16> m_key{};
  mutable std::mutex m_mutex;
  LruMap<Entry> m_entries;  // "s:SOURCE" and "u:USER"
  LruMap<bool> m_familiar;  // "USER\0SOURCE"
};

} // namespace authd::core
