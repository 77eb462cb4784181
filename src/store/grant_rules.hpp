#pragma once
// Private to the store module: the grant rules of CredentialStore::grant/revoke as one pure
// function over an account's grant state, shared by the SQL store and the in-memory fake.
#include <string>
#include <string_view>
#include <vector>

#include "authd/util/result.hpp"

namespace authd::store::detail {

struct GrantState {
  bool all_services = true;
  std::vector<std::string> services; // sorted; empty when all_services
};

// Applies grant (give) or revoke of `service` ("all" = every service) to `state`; true when it
// changed. ErrorKind::invalid_input for a bad service name or revoking one service of an
// every-service account; not_found for revoking a grant the account does not have.
Result<bool> change_grant_state(GrantState& state, std::string_view name, std::string_view service, bool give);

} // namespace authd::store::detail
