#pragma once
// One login through AuthService, possibly held by the throttle and tried again: a throttled
// attempt whose wait fits in what is left of [throttle] hold_max_ms is held (a timer in the event
// loop, no thread) and then verified; one that does not fit is answered at once. Shared by the
// API routes and the self-service page.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "authd/core/auth_service.hpp"
#include "message.hpp"

namespace authd::frontend::detail {

struct Attempt {
  std::string user, service, ip;
  SecretString password;
  bool own_password_only = false; // the self-service page: never an app password
  std::chrono::steady_clock::time_point hold_until;
  // Runs on a worker with the login's outcome (also throttled, when the wait was too long).
  std::function<Response(const core::AuthResult&)> respond;
};

// The Reply that runs the attempt on a worker in the login's lane.
Reply start_attempt(std::shared_ptr<Attempt> attempt, core::AuthService& service, core::Metrics& metrics);

} // namespace authd::frontend::detail
