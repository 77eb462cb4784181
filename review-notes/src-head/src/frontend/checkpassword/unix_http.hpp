#pragma once
// A deliberately tiny HTTP/1.1 client over a UNIX socket for authd-checkpassword: libc only, so
// the per-login fork/exec stays cheap (linking cpp-httplib costs ~4 ms of start-up per login).
#include <string>

#include "authd/util/result.hpp"

namespace authd::checkpassword {

struct HttpReply {
  int status = 0;
  std::string body;
};

// POSTs a JSON body to `path` on the socket and reads the reply, all within timeout_ms.
// ErrorKind::temporary when authd is unreachable, times out or answers garbage.
Result<HttpReply> post_json(const std::string& socket_path, const std::string& path, const std::string& body,
                            int timeout_ms);

// JSON string literal (quotes included) for arbitrary bytes that are valid UTF-8 or ASCII.
std::string json_string(std::string_view text);

// The value of a top-level string or number field of a flat JSON object ("" when absent).
std::string json_field(const std::string& body, std::string_view key);

} // namespace authd::checkpassword
