#pragma once
// Dovecot-style penalties: each failed login from a remote IP (and, past a few free failures, for
// an account) makes the next attempt wait: initial delay doubling per failure up to a cap (2 s ..
// 15 s by default). An attempt inside the window is answered "throttled" at once, without
// hashing. Success clears both counters. No lock-out: the worst a stranger can impose on an
// account is the capped delay. Memory is bounded (old entries are pruned).
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "authd/config/config.hpp"

namespace authd::core {

class Throttle {
public:
  using Clock = std::chrono::steady_clock;
  explicit Throttle(config::ThrottleConfig config);

  // How long the caller must still wait (zero = go ahead).
  std::chrono::milliseconds wait_for(const std::string& ip, const std::string& user, Clock::time_point now) const;
  void failure(const std::string& ip, const std::string& user, Clock::time_point now);
  void success(const std::string& ip, const std::string& user);
  std::size_t tracked() const;

private:
  struct Entry {
    int failures = 0;
    Clock::time_point last{};
  };
  std::chrono::milliseconds delay(int counted_failures) const;
  std::chrono::milliseconds remaining(const std::string& key, int free, Clock::time_point now) const;
  void prune(Clock::time_point now);

  config::ThrottleConfig m_config;
  mutable std::mutex m_mutex;
  std::unordered_map<std::string, Entry> m_entries; // "ip:..." and "user:..."
};

} // namespace authd::core
