// The HTTP front end's request parsers: the Basic header and the JSON body of POST /v1/auth.
#include <cstddef>
#include <cstdint>
#include <string>

#include "frontend/http/routes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string user, why;
  authd::SecretString password;
  (void)authd::frontend::detail::parse_basic("Basic " + input, user, password, why);
  (void)authd::frontend::detail::parse_basic(input, user, password, why);
  if (auto f = authd::frontend::detail::parse_auth_json(input); f && f->user.empty()) {
    __builtin_trap();
  }
  return 0;
}
