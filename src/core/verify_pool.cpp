#include "authd/core/verify_pool.hpp"

#include <condition_variable>
#include <mutex>

namespace authd::core {

Status VerifyPool::run(const std::function<void()>& job, Lane lane) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  const bool queued = m_exec.submit(lane, [&] {
    job();
    std::lock_guard lock(m);
    done = true;
    cv.notify_one();
  });
  if (!queued) {
    return fail(ErrorKind::temporary, "verify queue full");
  }
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return done; });
  return {};
}

} // namespace authd::core
