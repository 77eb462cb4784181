#include "authd/util/read_secret.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include <unistd.h>

namespace authd {

Result<SecretString> read_secret(int fd, std::size_t cap) {
  SecretString out;
  char buf[512];
  Result<SecretString> result = fail(ErrorKind::internal, "not read");
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      result = fail(ErrorKind::internal, std::strerror(errno));
      break;
    }
    if (n == 0) {
      result = std::move(out);
      break;
    }
    out.append(std::string_view(buf, static_cast<std::size_t>(n)));
    if (out.size() > cap) {
      result = fail(ErrorKind::invalid_input, "longer than " + std::to_string(cap) + " bytes");
      break;
    }
  }
  wipe(buf, sizeof buf);
  return result;
}

} // namespace authd
