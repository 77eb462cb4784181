#include "message.hpp"

#include "authd/util/encoding.hpp"
#include "authd/util/secret.hpp"

namespace authd::frontend::detail {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = static_cast<char>(c | 0x20);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

const std::string k_empty;

// Calls visit(name, value) for each "name=value" of the query until it returns true.
template <class F>
bool each_param(std::string_view query, F&& visit) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    const std::size_t eq = item.find('=');
    if (visit(percent_decode(item.substr(0, eq)), eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1))) {
      return true;
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return false;
}

} // namespace

Request::~Request() {
  for (auto& [name, value] : headers) {
    wipe(value.data(), value.size());
  }
  wipe(body.data(), body.size());
}

const std::string& Request::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequal(n, name)) {
      return v;
    }
  }
  return k_empty;
}

bool Request::has_header(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequal(h.first, name)) {
      return true;
    }
  }
  return false;
}

std::string Request::param(std::string_view name) const {
  std::string out;
  each_param(query, [&](const std::string& n, std::string_view v) {
    if (n != name) {
      return false;
    }
    out = percent_decode(v);
    return true;
  });
  return out;
}

bool Request::has_param(std::string_view name) const {
  return each_param(query, [&](const std::string& n, std::string_view) { return n == name; });
}

std::string Request::cookie(std::string_view name) const {
  std::string_view rest = header("Cookie");
  while (!rest.empty()) {
    const std::size_t semi = rest.find(';');
    std::string_view item = rest.substr(0, semi);
    item.remove_prefix(std::min(item.find_first_not_of(' '), item.size()));
    const std::size_t eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == name) {
      return std::string(item.substr(eq + 1));
    }
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
  }
  return "";
}

std::optional<std::string> form_field(std::string_view form, std::string_view name) {
  std::optional<std::string> out;
  each_param(form, [&](const std::string& n, std::string_view v) {
    if (n != name) {
      return false;
    }
    out = percent_decode(v);
    return true;
  });
  return out;
}

std::vector<std::string> form_fields(std::string_view form, std::string_view name) {
  std::vector<std::string> out;
  each_param(form, [&](const std::string& n, std::string_view v) {
    if (n == name) {
      out.push_back(percent_decode(v));
    }
    return false;
  });
  return out;
}

void split_target(std::string_view target, std::string& path, std::string& query) {
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() > scheme.size() && ascii_lower(target.substr(0, scheme.size())) == scheme) {
      const std::size_t slash = target.find_first_of("/?", scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      break;
    }
  }
  const std::size_t q = target.find('?');
  path = std::string(target.substr(0, q));
  query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  if (path.empty()) {
    path = "/";
  }
}

} // namespace authd::frontend::detail
