#include "authd/core/lanes.hpp"

namespace authd::core {

const char* to_string(Lane lane) noexcept { return lane == Lane::priority ? "priority" : "suspect"; }

// A client may keep 1/16 of a lane waiting once the lane is half full (4 of the default 64).
LanedExecutor::LanedExecutor(int threads, std::size_t capacity, int max_suspect)
    : m_queue{FairQueue(capacity, capacity / 16), FairQueue(capacity, capacity / 16)} {
  if (threads < 1) {
    threads = static_cast<int>(std::thread::hardware_concurrency());
    threads = threads < 1 ? 1 : threads;
  }
  m_max_suspect = max_suspect < 1 ? 1 : (max_suspect > threads ? threads : max_suspect);
  for (int i = 0; i < threads; ++i) {
    m_threads.emplace_back([this] { work(); });
  }
}

LanedExecutor::~LanedExecutor() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_ready.notify_all();
  for (auto& t : m_threads) {
    t.join();
  }
}

bool LanedExecutor::submit(Lane lane, std::function<void()> job, std::string_view key) {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping || !m_queue[static_cast<int>(lane)].push(key, std::move(job))) {
      return false;
    }
  }
  m_ready.notify_one();
  return true;
}

std::size_t LanedExecutor::queued(Lane lane) const {
  std::lock_guard lock(m_mutex);
  return m_queue[static_cast<int>(lane)].size();
}

void LanedExecutor::discard_queued() {
  std::vector<std::function<void()>> dropped; // destroyed outside the lock
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    for (FairQueue& q : m_queue) {
      while (!q.empty()) {
        dropped.push_back(q.pop());
      }
    }
  }
  m_ready.notify_all();
}

bool LanedExecutor::runnable() const {
  return !m_queue[0].empty() || suspect_may_run();
}

bool LanedExecutor::suspect_may_run() const {
  return !m_queue[1].empty() && m_suspect_running < m_max_suspect;
}

// The priority lane first — but while both lanes have work, every k_suspect_turn-th job comes
// from the suspect lane (within its thread cap), so an endless stream of clean logins (one
// client's right-password flood) cannot starve a user who mistyped once (found by the attack
// review: such a login waited for the whole flood). A suspect flood costs clean logins at most
// one job in k_suspect_turn.
bool LanedExecutor::take_suspect() {
  const bool suspect = suspect_may_run() && (m_queue[0].empty() || m_priority_streak + 1 >= k_suspect_turn);
  m_priority_streak = suspect || m_queue[1].empty() ? 0 : m_priority_streak + 1;
  return suspect;
}

void LanedExecutor::work() {
  for (;;) {
    std::function<void()> job;
    bool suspect = false;
    {
      std::unique_lock lock(m_mutex);
      m_ready.wait(lock, [this] { return runnable() || (m_stopping && m_queue[0].empty() && m_queue[1].empty()); });
      if (!runnable()) {
        return; // stopping and drained
      }
      suspect = take_suspect();
      job = m_queue[suspect ? 1 : 0].pop();
      m_suspect_running += suspect ? 1 : 0;
    }
    job();
    if (suspect) {
      {
        std::lock_guard lock(m_mutex);
        --m_suspect_running;
      }
      m_ready.notify_one(); // a suspect job may have been waiting for this slot
    }
  }
}

} // namespace authd::core
