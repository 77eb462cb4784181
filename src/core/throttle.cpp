#include "authd/core/throttle.hpp"

#include <algorithm>

#include <sodium.h>

#include "authd/util/net.hpp"

namespace authd::core {

Throttle::Throttle(config::ThrottleConfig config)
    : m_config(config), m_entries(static_cast<std::size_t>(config.max_entries)),
      m_familiar(static_cast<std::size_t>(config.max_entries)) {
  randombytes_buf(m_key.data(), m_key.size());
}

std::string Throttle::source_of(std::string_view ip) {
  auto addr = parse_ip(ip);
  if (!addr) {
    return "";
  }
  if (addr->v4()) {
    return to_string(*addr);
  }
  std::fill(addr->bytes.begin() + 8, addr->bytes.end(), std::uint8_t{0});
  return to_string(*addr) + "/64";
}

std::uint64_t Throttle::pair_hash(std::string_view user, SecretView password) const {
  crypto_generichash_state st;
  crypto_generichash_init(&st, m_key.data(), m_key.size(), sizeof(std::uint64_t));
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(user.data()), user.size());
  const unsigned char sep = 0;
  crypto_generichash_update(&st, &sep, 1);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(password.data()), password.size());
  std::uint64_t out = 0;
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(&out), sizeof out);
  sodium_memzero(&st, sizeof st);
  return out | 1; // never 0: 0 marks an empty slot
}

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

std::chrono::milliseconds Throttle::admit(const std::string& key, int free, Clock::time_point now, bool capped) {
  Entry* e = m_config.enabled ? m_entries.find(key) : nullptr;
  auto d = e == nullptr ? std::chrono::milliseconds(0) : delay(e->failures - free);
  if (capped) {
    d = std::min(d, std::chrono::milliseconds(m_config.initial_ms));
  }
  if (d.count() == 0 || now - e->last > std::chrono::milliseconds(m_config.max_ms) * 4) {
    return std::chrono::milliseconds(0);
  }
  if (const auto until = e->last + d; until > now) {
    return std::chrono::ceil<std::chrono::milliseconds>(until - now);
  }
  e->last = now; // this attempt takes the window
  return std::chrono::milliseconds(0);
}

std::chrono::milliseconds Throttle::admit_source(const std::string& source, Clock::time_point now, bool capped) {
  if (source.empty()) {
    return std::chrono::milliseconds(0);
  }
  std::lock_guard lock(m_mutex);
  return admit("s:" + source, 0, now, capped);
}

bool Throttle::account_clean(const std::string& user, Clock::time_point now) const {
  std::lock_guard lock(m_mutex);
  const Entry* e = m_entries.find("u:" + user);
  return e == nullptr || e->failures == 0 || now - e->last > std::chrono::milliseconds(m_config.max_ms) * 4;
}

std::chrono::milliseconds Throttle::admit_account(const std::string& user, Clock::time_point now) {
  std::lock_guard lock(m_mutex);
  return admit("u:" + user, m_config.account_free_failures, now, false);
}

bool Throttle::suspect(const std::string& source, const std::string& user) const {
  std::lock_guard lock(m_mutex);
  const Entry* s = source.empty() ? nullptr : m_entries.find("s:" + source);
  if (s != nullptr && s->failures > 0) {
    return true;
  }
  const Entry* u = m_entries.find("u:" + user);
  return u != nullptr && u->failures > m_config.account_free_failures &&
         m_familiar.find(user + '\0' + familiar_key(source)) == nullptr;
}

void Throttle::count(const std::string& key, std::uint64_t pair, Clock::time_point now) {
  Entry& e = m_entries.touch(key);
  if (now - e.last > std::chrono::milliseconds(m_config.max_ms) * 4) {
    e = Entry{}; // long quiet: start again
  }
  const bool repeat = pair != 0 && std::find(e.pairs.begin(), e.pairs.end(), pair) != e.pairs.end();
  if (!repeat) {
    e.failures = std::min(e.failures + 1, 64);
    e.pairs[e.next++ % e.pairs.size()] = pair;
  }
  e.last = now; // a repeat re-arms the current wait without lengthening it
}

void Throttle::failure(const std::string& source, const std::string& user, std::uint64_t pair, Clock::time_point now) {
  std::lock_guard lock(m_mutex);
  if (!m_config.enabled) {
    return;
  }
  if (!source.empty()) {
    count("s:" + source, pair, now);
  }
  if (!user.empty()) {
    count("u:" + user, pair, now);
  }
}

void Throttle::success(const std::string& source, const std::string& user) {
  std::lock_guard lock(m_mutex);
  if (!source.empty()) {
    m_entries.erase("s:" + source);
  }
  m_familiar.touch(user + '\0' + familiar_key(source)) = true;
}

bool Throttle::known_familiar(const std::string& user, const std::string& source) const {
  std::lock_guard lock(m_mutex);
  return m_familiar.find(user + '\0' + familiar_key(source)) != nullptr;
}

void Throttle::remember_familiar(const std::string& user, const std::string& source) {
  std::lock_guard lock(m_mutex);
  m_familiar.touch(user + '\0' + familiar_key(source)) = true;
}

std::size_t Throttle::tracked() const {
  std::lock_guard lock(m_mutex);
  return m_entries.size();
}

config::ThrottleConfig Throttle::config() const {
  std::lock_guard lock(m_mutex);
  return m_config;
}

void Throttle::reconfigure(const config::ThrottleConfig& config) {
  std::lock_guard lock(m_mutex);
  m_config = config;
  m_entries.set_capacity(static_cast<std::size_t>(config.max_entries));
  m_familiar.set_capacity(static_cast<std::size_t>(config.max_entries));
}

} // namespace authd::core
