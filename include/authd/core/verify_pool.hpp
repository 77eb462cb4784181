#pragma once
// A bounded executor for the expensive work (bcrypt is CPU, argon2id 64 MiB each): a fixed number
// of threads and a fixed queue per lane (lanes.hpp). When a lane is full, run() fails at once with
// a temporary error instead of letting requests pile up behind minutes of hashing; the priority
// lane (familiar sources, clean accounts) is always served first.
#include <atomic>
#include <functional>
#include <string_view>

#include "authd/core/lanes.hpp"
#include "authd/util/result.hpp"

namespace authd::core {

class VerifyPool {
public:
  VerifyPool(int threads, int queue_size) : m_exec(threads, static_cast<std::size_t>(queue_size), threads) {}

  // Runs job on a pool thread and waits for it. ErrorKind::temporary when the lane is full, or
  // has no room left for this client (`key`: the login's source; FairQueue).
  Status run(const std::function<void()>& job, Lane lane = Lane::priority, std::string_view key = {});

  // Shutdown past its drain deadline: jobs still waiting are not run (their callers get a
  // temporary failure at once); the ones running finish.
  void shed() noexcept { m_shedding = true; }

  int threads() const noexcept { return m_exec.threads(); }
  std::size_t queued() const { return m_exec.queued(Lane::priority) + m_exec.queued(Lane::suspect); }

private:
  std::atomic<bool> m_shedding{false};
  LanedExecutor m_exec;
};

} // namespace authd::core
