#include "authd/core/fair_queue.hpp"

#include <algorithm>

namespace authd::core {

FairQueue::FairQueue(std::size_t capacity, std::size_t share)
    : m_capacity(std::max<std::size_t>(1, capacity)), m_share(std::max<std::size_t>(1, share)) {}

bool FairQueue::push(std::string_view key, Job job) {
  if (m_size >= m_capacity) {
    return false;
  }
  std::string client(key);
  auto it = m_jobs.find(client);
  const std::size_t waiting = it == m_jobs.end() ? 0 : it->second.size();
  if (2 * m_size >= m_capacity && waiting >= m_share) {
    return false;
  }
  if (it == m_jobs.end()) {
    m_turn.push_back(client);
    it = m_jobs.emplace(std::move(client), std::deque<Job>{}).first;
  }
  it->second.push_back(std::move(job));
  ++m_size;
  return true;
}

FairQueue::Job FairQueue::pop() {
  std::string key = std::move(m_turn.front());
  m_turn.pop_front();
  auto it = m_jobs.find(key);
  Job job = std::move(it->second.front());
  it->second.pop_front();
  --m_size;
  if (it->second.empty()) {
    m_jobs.erase(it);
  } else {
    m_turn.push_back(std::move(key)); // its next job waits for every other client's turn
  }
  return job;
}

} // namespace authd::core
