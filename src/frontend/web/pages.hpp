#pragma once
// The self-service page's HTML: plain server-rendered forms, no script (the CSP forbids any),
// one stylesheet from the same origin, every value escaped. Links and form actions are relative,
// so the page works under any path prefix of the reverse proxy ("/account/").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authd/store/credential_store.hpp"

namespace authd::frontend::web {

std::string html_escape(std::string_view text);

struct SignInView {
  std::string token;   // CSRF token of the form
  std::string user;    // prefilled after a failed attempt
  std::string message; // why the last attempt failed ("" = none)
};
std::string sign_in_page(const SignInView& view);

struct AccountView {
  std::string user;
  std::string csrf;
  std::string scheme;      // of the stored hash, e.g. "bcrypt"
  bool legacy = false;     // not the target scheme: a password change fixes it
  std::optional<std::vector<std::string>> main_password_services; // nullopt: every service
  std::vector<store::AppPassword> apps;
  std::vector<store::RecentLogin> logins;
  std::vector<std::string> offered_services; // [selfservice] app_password_services
  int min_password_length = 10;
  std::string notice;      // what the last action did
  std::string error;       // why it did not
  std::string new_secret;  // an app password just made: shown this once
  std::int64_t now = 0;
};
std::string account_page(const AccountView& view);

// A page with one message (errors that are not about a form).
std::string message_page(std::string_view title, std::string_view text);

const std::string& stylesheet();

} // namespace authd::frontend::web
