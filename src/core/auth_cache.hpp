#pragma once
// Optional positive auth cache: remembers successful logins under a keyed BLAKE2b hash
// (libsodium crypto_generichash, random key per process) of user, password, service and the
// stored hash. Any change of the account's hash changes the key, so a password change or upgrade
// can never be answered from a stale entry; disabling and grants are checked from the store on
// every request before the cache is asked. Plaintext never enters the cache.
#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "authd/util/secret.hpp"

namespace authd::core {

class AuthCache {
public:
  using Clock = std::chrono::steady_clock;
  AuthCache(std::chrono::seconds ttl, std::size_t capacity, bool enabled = true);
  // A SIGHUP reload; turning the cache off forgets every entry.
  void configure(bool enabled, std::chrono::seconds ttl);
  bool enabled() const;
  bool hit(std::string_view user, SecretView password, std::string_view service, std::string_view stored_hash);
  void remember(std::string_view user, SecretView password, std::string_view service, std::string_view stored_hash);

private:
  std::string key(std::string_view user, SecretView password, std::string_view service, std::string_view stored) const;
  std::array<unsigned char, 32> m_secret{};
  std::chrono::seconds m_ttl;
  std::size_t m_capacity;
  bool m_enabled;
  mutable std::mutex m_mutex;
  std::unordered_map<std::string, Clock::time_point> m_entries; // key -> when it was remembered
};

} // namespace authd::core
