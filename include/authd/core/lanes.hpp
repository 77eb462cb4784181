#pragma once
// A bounded two-lane executor: fixed threads, a fixed queue per lane, the priority lane served
// first (and the suspect lane every 4th job while both have work). A full lane refuses at once
// (the caller answers "temporary failure"), so a flood that fills the suspect lane sheds its own
// requests while the priority lane still gets threads.
// `max_suspect_running` reserves threads for the priority lane (threads - max = reserved).
// Within a lane the clients share fairly (fair_queue.hpp): turn by turn, and none fills it.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <string_view>
#include <vector>

#include "fair_queue.hpp"

namespace authd::core {

enum class Lane { priority, suspect };
const char* to_string(Lane lane) noexcept;

class LanedExecutor {
public:
  LanedExecutor(int threads, std::size_t capacity_per_lane, int max_suspect_running);
  ~LanedExecutor(); // runs what is queued, then joins
  LanedExecutor(const LanedExecutor&) = delete;
  LanedExecutor& operator=(const LanedExecutor&) = delete;

  // Queues job for client `key` (its source address; "" for clients without one); false when
  // that lane is full, or has no room left for this client (FairQueue), or the executor stops.
  bool submit(Lane lane, std::function<void()> job, std::string_view key = {});
  std::size_t queued(Lane lane) const;
  // Drops every queued job (not the running ones) and refuses new ones: for a shutdown whose
  // clients are gone.
  void discard_queued();
  int threads() const noexcept { return static_cast<int>(m_threads.size()); }

private:
  void work();
  bool runnable() const; // under m_mutex, as the two below
  bool suspect_may_run() const;
  bool take_suspect(); // which lane the next job comes from
  static constexpr int k_suspect_turn = 4;

  mutable std::mutex m_mutex;
  std::condition_variable m_ready;
  FairQueue m_queue[2];
  int m_max_suspect;
  int m_suspect_running = 0;
  int m_priority_streak = 0; // priority jobs taken in a row while suspects waited
  bool m_stopping = false;
  std::vector<std::thread> m_threads;
};

} // namespace authd::core
