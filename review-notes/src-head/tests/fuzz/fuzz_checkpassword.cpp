// authd-checkpassword's input parsers: fd 3 (Dovecot) and stdin (Apache pipe).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "frontend/checkpassword/checkpassword.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const authd::SecretView input(reinterpret_cast<const char*>(data), size);
  if (auto r = authd::checkpassword::parse_fd3(input); r && r->user.empty()) {
    __builtin_trap(); // the parser promises a non-empty user
  }
  (void)authd::checkpassword::parse_pipe(input);
  return 0;
}
