#pragma once
// A bounded queue of jobs shared fairly among the clients that queue them (a client is a key:
// the login's source address). Jobs are taken round-robin, one per client in turn, so a client
// with a hundred jobs waiting delays another client's job by at most one of its own; and while
// the queue is at least half full a client that already has `share` jobs waiting may queue no
// more, so one client (or a few) cannot fill it: the rest stays for the others.
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace authd::core {

class FairQueue {
public:
  using Job = std::function<void()>;
  FairQueue(std::size_t capacity, std::size_t share);

  // False when the queue is full, or at least half full and this client has its share waiting.
  bool push(std::string_view key, Job job);
  Job pop(); // the next client's oldest job; the queue must not be empty
  bool empty() const noexcept { return m_size == 0; }
  std::size_t size() const noexcept { return m_size; }

private:
  std::size_t m_capacity, m_share, m_size = 0;
  std::unordered_map<std::string, std::deque<Job>> m_jobs; // only clients with jobs waiting
  std::deque<std::string> m_turn;                            // those clients, in turn order
};

} // namespace authd::core
