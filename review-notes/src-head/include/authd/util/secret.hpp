#pragma once
// Secrets are a type: SecretString owns plaintext (or other secret bytes), is move-only, has no
// stream operator and wipes its buffer (sodium_memzero) on destruction, move and clear.
// SecretView is a non-owning, non-printable view used to pass a secret down the call chain.
#include <cstddef>
#include <string_view>

namespace authd {

class SecretView {
public:
  constexpr SecretView() noexcept = default;
  constexpr SecretView(const char* data, std::size_t size) noexcept : m_data(data), m_size(size) {}
  const char* data() const noexcept { return m_data; }
  std::size_t size() const noexcept { return m_size; }
  bool empty() const noexcept { return m_size == 0; }
  // Explicit: the few places that need the bytes as a string_view say so.
  std::string_view reveal() const noexcept { return {m_data, m_size}; }
  SecretView prefix(std::size_t n) const noexcept { return {m_data, n < m_size ? n : m_size}; }

private:
  const char* m_data = "";
  std::size_t m_size = 0;
};

class SecretString {
public:
  SecretString() noexcept = default;
  explicit SecretString(std::string_view bytes);
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  SecretString(SecretString&& other) noexcept;
  SecretString& operator=(SecretString&& other) noexcept;
  ~SecretString();

  void assign(std::string_view bytes);
  void append(std::string_view bytes);
  void push_back(char c);
  void clear() noexcept;               // wipes and empties
  void resize_down(std::size_t n) noexcept; // shrinks, wiping the cut bytes

  const char* data() const noexcept { return m_data ? m_data : ""; }
  char* mutable_data() noexcept { return m_data; }
  std::size_t size() const noexcept { return m_size; }
  bool empty() const noexcept { return m_size == 0; }
  SecretView view() const noexcept { return {data(), m_size}; }
  operator SecretView() const noexcept { return view(); } // NOLINT: implicit on purpose

private:
  void reserve(std::size_t capacity);
  char* m_data = nullptr;
  std::size_t m_size = 0;
  std::size_t m_capacity = 0;
};

// Wipes any buffer (sodium_memzero: not optimised away).
void wipe(void* data, std::size_t size) noexcept;

} // namespace authd
