#include "sql.hpp"

namespace authd::store::detail {

ConnectionPool::ConnectionPool(Connect connect, int size, std::chrono::milliseconds timeout)
    : m_connect(std::move(connect)), m_size(size < 1 ? 1 : size), m_timeout(timeout) {}

ConnectionPool::Lease::~Lease() {
  if (m_pool != nullptr && m_conn) {
    m_pool->release(std::move(m_conn));
  }
}

Result<ConnectionPool::Lease> ConnectionPool::acquire() {
  std::unique_lock lock(m_mutex);
  const bool got_slot = m_freed.wait_for(lock, m_timeout, [this] {
    return !m_idle.empty() || m_out < m_size;
  });
  if (!got_slot) {
    return fail(ErrorKind::temporary, "all store connections busy");
  }
  if (auto conn = take_idle(lock)) {
    return Lease(this, std::move(conn));
  }
  ++m_out;
  lock.unlock(); // connecting may take up to the timeout: not under the lock
  auto conn = m_connect();
  if (!conn) {
    lock.lock();
    --m_out;
    m_freed.notify_one();
    return tl::unexpected(conn.error());
  }
  return Lease(this, std::move(*conn));
}

std::unique_ptr<SqlConnection> ConnectionPool::take_idle(std::unique_lock<std::mutex>& lock) {
  while (!m_idle.empty()) {
    auto conn = std::move(m_idle.back());
    m_idle.pop_back();
    ++m_out; // counted as out while it is checked, outside the lock (the check may ask the server)
    lock.unlock();
    const bool usable = conn->usable();
    if (usable) {
      return conn;
    }
    conn.reset();
    lock.lock();
    --m_out;
  }
  return nullptr;
}

void ConnectionPool::release(std::unique_ptr<SqlConnection> conn) {
  {
    std::lock_guard lock(m_mutex);
    --m_out;
    if (!conn->broken() && !conn->retire()) {
      m_idle.push_back(std::move(conn));
    }
  }
  m_freed.notify_one();
}

} // namespace authd::store::detail
