#include "authd/core/verify_pool.hpp"

namespace authd::core {

VerifyPool::VerifyPool(int threads, int queue_size) : m_capacity(static_cast<std::size_t>(queue_size < 1 ? 1 : queue_size)) {
  if (threads < 1) {
    threads = static_cast<int>(std::thread::hardware_concurrency());
    threads = threads < 1 ? 1 : threads;
  }
  for (int i = 0; i < threads; ++i) {
    m_threads.emplace_back([this] { work(); });
  }
}

VerifyPool::~VerifyPool() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_ready.notify_all();
  for (auto& t : m_threads) {
    t.join();
  }
}

std::size_t VerifyPool::queued() const {
  std::lock_guard lock(m_mutex);
  return m_queue.size();
}

Status VerifyPool::run(const std::function<void()>& job) {
  Task task{&job};
  std::unique_lock lock(m_mutex);
  if (m_queue.size() >= m_capacity || m_stopping) {
    return fail(ErrorKind::temporary, "verify queue full");
  }
  m_queue.push_back(&task);
  m_ready.notify_one();
  m_finished.wait(lock, [&] { return task.done; });
  return {};
}

void VerifyPool::work() {
  for (;;) {
    Task* task = nullptr;
    {
      std::unique_lock lock(m_mutex);
      m_ready.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
      if (m_queue.empty()) {
        return; // stopping and drained
      }
      task = m_queue.front();
      m_queue.pop_front();
    }
    (*task->job)();
    {
      std::lock_guard lock(m_mutex);
      task->done = true;
    }
    m_finished.notify_all();
  }
}

} // namespace authd::core
