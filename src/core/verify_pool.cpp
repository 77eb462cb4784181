#include "authd/core/verify_pool.hpp"

#include <condition_variable>
#include <mutex>

namespace authd::core {

Status VerifyPool::run(const std::function<void()>& job, Lane lane, std::string_view key) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  bool shed = false;
  const bool queued = m_exec.submit(lane, [&] {
    shed = m_shedding.load();
    if (!shed) {
      job();
    }
    std::lock_guard lock(m);
    done = true;
    cv.notify_one();
  }, key);
  if (!queued) {
    return fail(ErrorKind::temporary, "verify queue full");
  }
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return done; });
  if (shed) {
    return fail(ErrorKind::temporary, "shutting down");
  }
  return {};
}

} // namespace authd::core
