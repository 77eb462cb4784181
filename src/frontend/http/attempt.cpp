#include "attempt.hpp"

namespace authd::frontend::detail {
namespace {

Reply attempt(const std::shared_ptr<Attempt>& a, core::AuthService& service, core::Metrics& metrics) {
  const auto r = service.authenticate({a->user, a->password, a->service, a->ip, a->own_password_only});
  if (r.status == core::AuthStatus::throttled) {
    if (std::chrono::steady_clock::now() + r.retry_after <= a->hold_until) {
      metrics.add("authd_throttle_delayed_total", {});
      return Reply{{}, [a, &service, &metrics] { return attempt(a, service, metrics); }, core::Lane::suspect, r.retry_after,
                   core::Throttle::source_of(a->ip)};
    }
    metrics.add("authd_throttled_total", {});
  }
  return Reply{a->respond(r), {}, core::Lane::priority, {}, {}};
}

} // namespace

Reply start_attempt(std::shared_ptr<Attempt> a, core::AuthService& service, core::Metrics& metrics) {
  a->hold_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(service.throttle_config().hold_max_ms);
  const core::Lane lane = service.lane(a->user, a->ip);
  return Reply{{}, [a, &service, &metrics] { return attempt(a, service, metrics); }, lane, {},
               core::Throttle::source_of(a->ip)};
}

} // namespace authd::frontend::detail
