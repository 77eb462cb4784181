#include "pages.hpp"

#include <ctime>

namespace authd::frontend::web {
namespace {

std::string utc(std::int64_t t, const char* format) {
  const std::time_t at = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&at, &tm);
  char out[32];
  std::strftime(out, sizeof out, format, &tm);
  return out;
}

std::string when(std::int64_t t) { return utc(t, "%Y-%m-%d %H:%M UTC"); }
std::string day(std::int64_t t) { return utc(t, "%Y-%m-%d"); }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    out += (out.empty() ? "" : ", ") + s;
  }
  return out;
}

std::string head(std::string_view title) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta name=\"referrer\" content=\"no-referrer\">"
         "<title>" + html_escape(title) + "</title><link rel=\"stylesheet\" href=\"style.css\"></head>\n<body><main>\n";
}

const char* const k_tail = "</main></body></html>\n";

std::string csrf_field(std::string_view token) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + html_escape(token) + "\">";
}

std::string alerts(const AccountView& v) {
  std::string out;
  if (!v.notice.empty()) {
    out += "<p class=\"notice\" role=\"status\" id=\"notice\">" + html_escape(v.notice) + "</p>\n";
  }
  if (!v.error.empty()) {
    out += "<p class=\"error\" role=\"alert\" id=\"error\">" + html_escape(v.error) + "</p>\n";
  }
  if (!v.new_secret.empty()) {
    out += "<section class=\"secret\"><h2>Your new app password</h2><p>Enter it in the app now: it is shown only "
           "this once.</p>";
    std::string_view rest = v.new_secret;
    for (bool first = true; !rest.empty(); first = false) {
      const std::size_t nl = rest.find('\n');
      out += std::string("<p><code") + (first ? " id=\"new-app-password\"" : "") + ">" + html_escape(rest.substr(0, nl)) + "</code></p>";
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
    out += "</section>\n";
  }
  return out;
}

std::string password_section(const AccountView& v) {
  std::string out = "<section id=\"password\"><h2>Password</h2>\n";
  if (v.legacy) {
    out += "<p class=\"warn\">Your password is stored with an old scheme (" + html_escape(v.scheme) +
           "). Changing it stores it safely at once.</p>\n";
  }
  out += "<p>Accepted for: " + html_escape(v.main_password_services ? (v.main_password_services->empty() ? "no service (app passwords only)" : join(*v.main_password_services)) : "every service") + "</p>\n";
  const std::string min = std::to_string(v.min_password_length);
  out += "<form method=\"post\" action=\"password\">" + csrf_field(v.csrf) +
         "<label>Current password <input type=\"password\" name=\"current\" autocomplete=\"current-password\" required></label>"
         "<label>New password (at least " + min + " characters) <input type=\"password\" name=\"new\" "
         "autocomplete=\"new-password\" minlength=\"" + min + "\" required></label>"
         "<label>New password again <input type=\"password\" name=\"confirm\" autocomplete=\"new-password\" minlength=\"" +
         min + "\" required></label><button type=\"submit\" id=\"change-password\">Change password</button></form></section>\n";
  return out;
}

std::string app_row(const AccountView& v, const store::AppPassword& a) {
  const bool expired = a.expires_at && *a.expires_at <= v.now;
  const std::string state = a.revoked ? "revoked" : expired ? "expired" : "active";
  std::string out = "<tr class=\"" + state + "\"><td>" + html_escape(a.label.empty() ? "(no label)" : a.label) + "</td><td>" +
                    html_escape(join(a.services)) + "</td><td>" + when(a.created_at) + "</td><td>" +
                    (a.expires_at ? "through " + day(*a.expires_at - 1) : "never") + "</td><td>";
  out += a.last_used_at ? when(*a.last_used_at) + " (" + html_escape(a.last_used_service) +
                              (a.last_used_ip.empty() ? "" : ", " + html_escape(a.last_used_ip)) + ")"
                        : "never";
  out += "</td><td>" + state;
  if (state == "active") {
    out += "<form method=\"post\" action=\"revoke\" class=\"inline\">" + csrf_field(v.csrf) +
           "<input type=\"hidden\" name=\"id\" value=\"" + std::to_string(a.id) + "\"><button type=\"submit\" "
           "class=\"danger\" id=\"revoke-" + std::to_string(a.id) + "\">Revoke</button></form>";
  }
  return out + "</td></tr>\n";
}

std::string apps_section(const AccountView& v) {
  std::string out = "<section id=\"app-passwords\"><h2>App passwords</h2>\n<p>One per device or program: a lost phone "
                    "is one revoke.</p>\n";
  if (v.apps.empty()) {
    out += "<p>None yet.</p>\n";
  } else {
    out += "<div class=\"scroll\"><table><thead><tr><th>Label</th><th>Services</th><th>Created</th><th>Expires</th>"
           "<th>Last used</th><th>State</th></tr></thead><tbody>\n";
    for (const store::AppPassword& a : v.apps) {
      out += app_row(v, a);
    }
    out += "</tbody></table></div>\n";
  }
  out += "<h3>New app password</h3><form method=\"post\" action=\"app-passwords\">" + csrf_field(v.csrf) +
         "<label>Label <input type=\"text\" name=\"label\" maxlength=\"200\" placeholder=\"Phone mail\" required></label>"
         "<fieldset><legend>For</legend>";
  for (const std::string& s : v.offered_services) {
    out += "<label class=\"check\"><input type=\"checkbox\" name=\"service\" value=\"" + html_escape(s) + "\"> " +
           html_escape(s) + "</label>";
  }
  out += "</fieldset><label>Expires (optional) <input type=\"date\" name=\"expires\"></label>"
         "<label>Your password (to confirm) <input type=\"password\" name=\"current\" autocomplete=\"current-password\" "
         "required></label><button type=\"submit\" id=\"create-app-password\">Create</button></form></section>\n";
  return out;
}

std::string logins_section(const AccountView& v) {
  std::string out = "<section id=\"logins\"><h2>Recent logins</h2>\n";
  if (v.logins.empty()) {
    return out + "<p>None in the last 30 days.</p></section>\n";
  }
  out += "<div class=\"scroll\"><table><thead><tr><th>Last</th><th>Service</th><th>From</th><th>With</th><th>Times</th>"
         "<th>First</th></tr></thead><tbody>\n";
  for (const store::RecentLogin& l : v.logins) {
    const std::string with = l.app_password_id == 0 ? "your password"
                                                    : "app password " + (l.app_password_label.empty() ? "#" + std::to_string(l.app_password_id)
                                                                                                       : "\u201c" + l.app_password_label + "\u201d");
    out += "<tr><td>" + when(l.last_at) + "</td><td>" + html_escape(l.service) + "</td><td>" +
           html_escape(l.ip.empty() ? "(local)" : l.ip) + "</td><td>" + html_escape(with) + "</td><td>" +
           std::to_string(l.count) + "</td><td>" + when(l.first_at) + "</td></tr>\n";
  }
  return out + "</tbody></table></div></section>\n";
}

} // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string sign_in_page(const SignInView& v) {
  std::string out = head("Sign in") + "<h1>Sign in</h1>\n";
  if (!v.message.empty()) {
    out += "<p class=\"error\" role=\"alert\" id=\"error\">" + html_escape(v.message) + "</p>\n";
  }
  out += "<form method=\"post\" action=\"sign-in\">" + csrf_field(v.token) +
         "<label>User name <input type=\"text\" name=\"username\" autocomplete=\"username\" autocapitalize=\"none\" "
         "spellcheck=\"false\" required value=\"" + html_escape(v.user) + "\"></label>"
         "<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>"
         "<button type=\"submit\" id=\"sign-in\">Sign in</button></form>\n";
  return out + k_tail;
}

std::string account_page(const AccountView& v) {
  std::string out = head("Your account") + "<header><h1>Your account</h1><p>Signed in as <strong id=\"user\">" +
                    html_escape(v.user) + "</strong></p><form method=\"post\" action=\"sign-out\" class=\"inline\">" +
                    csrf_field(v.csrf) + "<button type=\"submit\" id=\"sign-out\">Sign out</button></form></header>\n";
  out += alerts(v) + password_section(v) + apps_section(v) + logins_section(v);
  return out + k_tail;
}

std::string message_page(std::string_view title, std::string_view text) {
  return head(title) + "<h1>" + html_escape(title) + "</h1><p>" + html_escape(text) + "</p><p><a href=\"./\">Back</a></p>\n" + k_tail;
}

const std::string& stylesheet() {
  static const std::string css =
      "*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1b1b1b;background:#f6f6f4}"
      "main{max-width:56rem;margin:0 auto;padding:1rem}h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem}"
      "section{background:#fff;border:1px solid #ddd;border-radius:.5rem;padding:1rem;margin:1rem 0}"
      "label{display:block;margin:.6rem 0}input[type=text],input[type=password],input[type=date]{display:block;width:100%;"
      "max-width:28rem;padding:.6rem;font-size:1rem;border:1px solid #999;border-radius:.3rem}"
      "label.check{display:inline-block;margin-right:1rem}fieldset{border:1px solid #ddd;border-radius:.3rem;margin:.6rem 0}"
      "button{padding:.6rem 1.2rem;font-size:1rem;border:0;border-radius:.3rem;background:#1f5fa8;color:#fff;cursor:pointer}"
      "button.danger{background:#a83232;padding:.3rem .8rem;margin-left:.5rem}form.inline{display:inline}"
      "header{display:flex;flex-wrap:wrap;align-items:center;gap:1rem}header h1{margin-right:auto}"
      ".notice{background:#e6f4e6;border:1px solid #8c8;padding:.6rem}.error{background:#fbe9e9;border:1px solid #d88;"
      "padding:.6rem}.warn{background:#fff6dc;border:1px solid #db5;padding:.6rem}"
      ".secret code{font-size:1.3rem;background:#eef;padding:.3rem .5rem;word-break:break-all}"
      ".scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;"
      "border-bottom:1px solid #eee;vertical-align:top}tr.revoked,tr.expired{color:#888}\n";
  return css;
}

} // namespace authd::frontend::web
