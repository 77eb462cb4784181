#include "authd/core/throttle.hpp"

#include <algorithm>

namespace authd::core {
namespace {
constexpr std::size_t k_max_entries = 100000;
}

Throttle::Throttle(config::ThrottleConfig config) : m_config(config) {}

std::chrono::milliseconds Throttle::delay(int counted) const {
  if (counted <= 0) {
    return std::chrono::milliseconds(0);
  }
  long long ms = m_config.initial_ms;
  for (int i = 1; i < counted && ms < m_config.max_ms; ++i) {
    ms *= 2;
  }
  return std::chrono::milliseconds(std::min<long long>(ms, m_config.max_ms));
}

std::chrono::milliseconds Throttle::remaining(const std::string& key, int free, Clock::time_point now) const {
  const auto it = m_entries.find(key);
  if (it == m_entries.end()) {
    return std::chrono::milliseconds(0);
  }
  const auto until = it->second.last + delay(it->second.failures - free);
  return until > now ? std::chrono::duration_cast<std::chrono::milliseconds>(until - now) : std::chrono::milliseconds(0);
}

std::chrono::milliseconds Throttle::wait_for(const std::string& ip, const std::string& user, Clock::time_point now) const {
  if (!m_config.enabled) {
    return std::chrono::milliseconds(0);
  }
  std::lock_guard lock(m_mutex);
  auto by_ip = ip.empty() ? std::chrono::milliseconds(0) : remaining("ip:" + ip, 0, now);
  auto by_user = user.empty() ? std::chrono::milliseconds(0) : remaining("user:" + user, m_config.account_free_failures, now);
  return std::max(by_ip, by_user);
}

void Throttle::failure(const std::string& ip, const std::string& user, Clock::time_point now) {
  if (!m_config.enabled) {
    return;
  }
  std::lock_guard lock(m_mutex);
  if (m_entries.size() >= k_max_entries) {
    prune(now);
  }
  for (const std::string& key : {ip.empty() ? std::string() : "ip:" + ip, user.empty() ? std::string() : "user:" + user}) {
    if (!key.empty()) {
      Entry& e = m_entries[key];
      e.failures = std::min(e.failures + 1, 64);
      e.last = now;
    }
  }
}

void Throttle::success(const std::string& ip, const std::string& user) {
  std::lock_guard lock(m_mutex);
  m_entries.erase("ip:" + ip);
  m_entries.erase("user:" + user);
}

std::size_t Throttle::tracked() const {
  std::lock_guard lock(m_mutex);
  return m_entries.size();
}

// Drops entries whose penalty has long expired; if still full, the oldest half.
void Throttle::prune(Clock::time_point now) {
  const auto horizon = std::chrono::milliseconds(m_config.max_ms) * 4;
  std::erase_if(m_entries, [&](const auto& kv) { return now - kv.second.last > horizon; });
  if (m_entries.size() >= k_max_entries) {
    m_entries.clear(); // under a flood of distinct keys: forget rather than grow without bound
  }
}

} // namespace authd::core
