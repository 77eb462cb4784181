#pragma once
// Result<T>: a value or an Error. Used at every module boundary instead of exceptions.
// ErrorKind separates "the input is bad" from "try again later" from "a bug/limit here":
// front ends map temporary -> tempfail (HTTP 503, checkpassword 111), never to "wrong password".
#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace authd {

enum class ErrorKind {
  invalid_input, // caller's data is unusable (bad password bytes, bad argument)
  invalid_hash,  // a stored hash is malformed or of an unknown scheme
  unsupported,   // recognised, but this build/config cannot do it
  not_found,     // the named thing does not exist
  conflict,      // the named thing exists already / changed meanwhile
  temporary,     // may succeed later (store down, timeout, queue full)
  permanent,     // will not succeed by retrying (schema too new, permission denied)
  internal,      // library failure, out of memory
};

const char* to_string(ErrorKind kind) noexcept;

struct Error {
  ErrorKind kind;
  std::string message; // never contains a password or hash material
};

template <class T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

inline tl::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return tl::unexpected<Error>(Error{kind, std::move(message)});
}

} // namespace authd
