#pragma once
// Reading a secret (a password, a checkpassword request) from a file descriptor.
#include <cstddef>

#include "authd/util/result.hpp"
#include "authd/util/secret.hpp"

namespace authd {

// Reads fd to EOF into a SecretString; the read buffer is wiped. More than `cap` bytes is
// ErrorKind::invalid_input ("longer than CAP bytes"); a read error is ErrorKind::internal with
// the system's message.
Result<SecretString> read_secret(int fd, std::size_t cap);

} // namespace authd
