#include "auth_cache.hpp"

#include <sodium.h>

namespace authd::core {

AuthCache::AuthCache(std::chrono::seconds ttl, std::size_t capacity, bool enabled)
    : m_ttl(ttl), m_capacity(capacity), m_enabled(enabled) {
  randombytes_buf(m_secret.data(), m_secret.size());
}

void AuthCache::configure(bool enabled, std::chrono::seconds ttl) {
  std::lock_guard lock(m_mutex);
  m_enabled = enabled;
  m_ttl = ttl;
  if (!enabled) {
    m_entries.clear();
  }
}

bool AuthCache::enabled() const {
  std::lock_guard lock(m_mutex);
  return m_enabled;
}

std::string AuthCache::key(std::string_view user, SecretView password, std::string_view service,
                           std::string_view stored) const {
  crypto_generichash_state st;
  crypto_generichash_init(&st, m_secret.data(), m_secret.size(), 32);
  const auto feed = [&](std::string_view part) {
    const unsigned long long len = part.size(); // length-prefixed: no ambiguity between fields
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(&len), sizeof len);
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(part.data()), part.size());
  };
  feed(user);
  feed(password.reveal());
  feed(service);
  feed(stored);
  std::string out(32, '\0');
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(out.data()), out.size());
  sodium_memzero(&st, sizeof st);
  return out;
}

bool AuthCache::hit(std::string_view user, SecretView password, std::string_view service, std::string_view stored) {
  const std::string k = key(user, password, service, stored);
  std::lock_guard lock(m_mutex);
  const auto it = m_entries.find(k);
  if (it == m_entries.end()) {
    return false;
  }
  if (!m_enabled || Clock::now() - it->second > m_ttl) {
    m_entries.erase(it);
    return false;
  }
  return true;
}

void AuthCache::remember(std::string_view user, SecretView password, std::string_view service, std::string_view stored) {
  const std::string k = key(user, password, service, stored);
  const auto now = Clock::now();
  std::lock_guard lock(m_mutex);
  if (!m_enabled) {
    return;
  }
  if (m_entries.size() >= m_capacity) {
    std::erase_if(m_entries, [&](const auto& kv) { return now - kv.second > m_ttl; });
    if (m_entries.size() >= m_capacity) {
      m_entries.clear();
    }
  }
  m_entries[k] = now;
}

} // namespace authd::core
