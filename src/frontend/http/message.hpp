#pragma once
// The HTTP request and answer as the routes see them: plain values, no HTTP library types, so
// the routes are testable and fuzzable without a server. The server fills a Request from the
// parser and writes a Response back.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authd/core/lanes.hpp"

namespace authd::frontend::detail {

struct Request {
  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  Request(Request&&) = default;
  Request& operator=(Request&&) = default;
  ~Request(); // wipes header values and the body: they may carry passwords

  std::string method;
  std::string path;  // origin-form path (absolute-form targets are reduced to it), no query
  std::string query; // after '?', raw
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer;  // the TCP peer's address; "" on the UNIX socket

  // The first field of that name (case-insensitive), "" when absent.
  const std::string& header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // A query parameter, percent-decoded ('+' is a space); "" when absent.
  std::string param(std::string_view name) const;
  bool has_param(std::string_view name) const;
  // A cookie of the Cookie header (RFC 6265 §5.4 form), "" when absent.
  std::string cookie(std::string_view name) const;
};

// A field of an application/x-www-form-urlencoded text (a form's body), percent-decoded;
// nullopt when absent. The caller wipes it when it is a secret.
std::optional<std::string> form_field(std::string_view form, std::string_view name);
// Every value of a repeated field (checkboxes), in order.
std::vector<std::string> form_fields(std::string_view form, std::string_view name);

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "text/plain";
  void set_header(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
  void set_content(std::string text, std::string type) {
    body = std::move(text);
    content_type = std::move(type);
  }
};

// What a route hands the server: an answer now, or work for a worker thread (the store and the
// verify pool block), optionally after a delay — the throttle's held answer, which waits on a
// timer in the event loop, holding no thread. `work` may hand back further work.
struct Reply {
  Response response;
  std::function<Reply()> work;
  core::Lane lane = core::Lane::priority;
  std::chrono::milliseconds delay{0};
  std::string client; // whose work it is (the login's source) for the workers' fair share
};

// Splits "PATH?QUERY" (absolute-form "http://host/PATH?QUERY" too, RFC 9112 §3.2.2: what a
// client sends through an HTTP proxy socket, e.g. Dovecot 2.4's Lua HTTP client).
void split_target(std::string_view target, std::string& path, std::string& query);

} // namespace authd::frontend::detail
