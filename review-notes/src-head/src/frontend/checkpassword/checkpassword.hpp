#pragma once
// authd-checkpassword: Dovecot's checkpassword protocol and mod_authnz_external's pipe method.
#include <cstddef>
#include <string>

#include "authd/util/result.hpp"
#include "authd/util/secret.hpp"

namespace authd::checkpassword {

inline constexpr std::size_t k_max_request = 512; // Dovecot's CHECKPASSWORD_MAX_REQUEST_LEN

struct Request {
  std::string user;
  SecretString password;
};

// "user\0password\0[timestamp\0…]" as read from fd 3; ErrorKind::invalid_input when malformed.
Result<Request> parse_fd3(SecretView input);
// "user\npassword[\n]" as read from stdin in pipe mode.
Result<Request> parse_pipe(SecretView input);

// The program's main (exit codes: see checkpassword.cpp).
int run(int argc, char** argv);

} // namespace authd::checkpassword
