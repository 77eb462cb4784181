#pragma once
// A bounded executor for the expensive work (bcrypt is CPU, argon2id 64 MiB each): a fixed number
// of threads and a fixed queue. When the queue is full, run() fails at once with a temporary
// error instead of letting requests pile up behind minutes of hashing.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "authd/util/result.hpp"

namespace authd::core {

class VerifyPool {
public:
  VerifyPool(int threads, int queue_size);
  ~VerifyPool();
  VerifyPool(const VerifyPool&) = delete;
  VerifyPool& operator=(const VerifyPool&) = delete;

  // Runs job on a pool thread and waits for it. ErrorKind::temporary when the queue is full.
  Status run(const std::function<void()>& job);

  int threads() const noexcept { return static_cast<int>(m_threads.size()); }
  std::size_t queued() const;

private:
  void work();

  struct Task {
    const std::function<void()>* job;
    bool done = false;
  };
  mutable std::mutex m_mutex;
  std::condition_variable m_ready;
  std::condition_variable m_finished;
  std::deque<Task*> m_queue;
  std::size_t m_capacity;
  bool m_stopping = false;
  std::vector<std::thread> m_threads;
};

} // namespace authd::core
