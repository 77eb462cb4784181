#include "authd/util/secret.hpp"

#include <cstring>
#include <new>
#include <utility>

#include <sodium.h>

namespace authd {

void wipe(void* data, std::size_t size) noexcept {
  if (data != nullptr && size > 0) {
    sodium_memzero(data, size);
  }
}

SecretString::SecretString(std::string_view bytes) { assign(bytes); }

SecretString::SecretString(SecretString&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr)), m_size(std::exchange(other.m_size, 0)),
      m_capacity(std::exchange(other.m_capacity, 0)) {}

SecretString& SecretString::operator=(SecretString&& other) noexcept {
  if (this != &other) {
    clear();
    delete[] m_data;
    m_data = std::exchange(other.m_data, nullptr);
    m_size = std::exchange(other.m_size, 0);
    m_capacity = std::exchange(other.m_capacity, 0);
  }
  return *this;
}

SecretString::~SecretString() {
  wipe(m_data, m_capacity);
  delete[] m_data;
}

// Growth copies into a fresh buffer and wipes the old one, so no stale copy stays on the heap.
void SecretString::reserve(std::size_t capacity) {
  if (capacity <= m_capacity) {
    return;
  }
  std::size_t grown = m_capacity < 32 ? 32 : m_capacity * 2;
  if (grown < capacity) {
    grown = capacity;
  }
  char* fresh = new char[grown + 1];
  if (m_size > 0) {
    std::memcpy(fresh, m_data, m_size);
  }
  fresh[m_size] = '\0';
  wipe(m_data, m_capacity);
  delete[] m_data;
  m_data = fresh;
  m_capacity = grown;
}

void SecretString::assign(std::string_view bytes) {
  clear();
  append(bytes);
}

void SecretString::append(std::string_view bytes) {
  reserve(m_size + bytes.size());
  if (!bytes.empty()) {
    std::memcpy(m_data + m_size, bytes.data(), bytes.size());
  }
  m_size += bytes.size();
  if (m_data != nullptr) {
    m_data[m_size] = '\0';
  }
}

void SecretString::push_back(char c) { append(std::string_view(&c, 1)); }

void SecretString::clear() noexcept {
  wipe(m_data, m_capacity);
  m_size = 0;
}

void SecretString::resize_down(std::size_t n) noexcept {
  if (n < m_size) {
    wipe(m_data + n, m_size - n);
    m_size = n;
  }
}

} // namespace authd
