#include "authd/util/result.hpp"

namespace authd {

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
  case ErrorKind::invalid_input: return "invalid input";
  case ErrorKind::invalid_hash: return "invalid hash";
  case ErrorKind::unsupported: return "unsupported";
  case ErrorKind::not_found: return "not found";
  case ErrorKind::conflict: return "conflict";
  case ErrorKind::temporary: return "temporary failure";
  case ErrorKind::permanent: return "permanent failure";
  case ErrorKind::internal: return "internal error";
  }
  return "error";
}

} // namespace authd
