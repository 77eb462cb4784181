// Store entry points shared by every driver: URL parsing, name rules, the factory.
#include <chrono>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <set>

#include "authd/store/credential_store.hpp"
#include "authd/util/encoding.hpp"
#include "grant_rules.hpp"
#include "sql.hpp"

#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "authd/util/net.hpp"

namespace authd::store {
namespace {

// Percent-decoding for user and password in URLs (a password may contain '@' or ':').
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= s.size()) {
      return std::nullopt;
    }
    const auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, value, 16);
    if (ec != std::errc() || p != s.data() + i + 3) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

bool parse_port(std::string_view digits, unsigned& port) {
  const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  return ec == std::errc() && p == digits.data() + digits.size() && port > 0 && port <= 65535;
}

// HOST, HOST:PORT, [IPv6] or [IPv6]:PORT.
Result<detail::MariadbHost> parse_host(std::string_view hostport) {
  detail::MariadbHost h;
  std::size_t colon_at = std::string_view::npos;
  if (hostport.starts_with('[')) { // [::1]:3306
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      return fail(ErrorKind::invalid_input, "mariadb URL: unterminated [IPv6] host");
    }
    colon_at = close + 1 < hostport.size() && hostport[close + 1] == ':' ? close + 1 : std::string_view::npos;
    if (close + 1 < hostport.size() && colon_at == std::string_view::npos) {
      return fail(ErrorKind::invalid_input, "mariadb URL: bad port");
    }
    if (colon_at != std::string_view::npos && !parse_port(hostport.substr(colon_at + 1), h.port)) {
      return fail(ErrorKind::invalid_input, "mariadb URL: bad port");
    }
    hostport = hostport.substr(1, close - 1);
  } else if ((colon_at = hostport.rfind(':')) != std::string_view::npos) {
    if (hostport.find(':') != colon_at) {
      return fail(ErrorKind::invalid_input, "mariadb URL: an IPv6 address needs brackets, as in [::1]:3306");
    }
    if (!parse_port(hostport.substr(colon_at + 1), h.port)) {
      return fail(ErrorKind::invalid_input, "mariadb URL: bad port");
    }
    hostport = hostport.substr(0, colon_at);
  }
  h.host = std::string(hostport);
  if (h.host.empty()) {
    return fail(ErrorKind::invalid_input, "mariadb URL needs a host and a database");
  }
  return h;
}

Result<detail::MariadbTarget> parse_mariadb(std::string_view rest) {
  // USER:PASS@HOST[:PORT][,HOST[:PORT]...]/DB[?socket=/path]
  detail::MariadbTarget t;
  const std::size_t at = url_userinfo_end(rest); // a raw '@' in the password is tolerated
  if (at == std::string_view::npos) {
    return fail(ErrorKind::invalid_input, "mariadb URL needs USER:PASS@HOST/DB");
  }
  const std::string_view cred = rest.substr(0, at);
  std::string_view where = rest.substr(at + 1);
  const std::size_t colon = cred.find(':');
  auto user = percent_decode(cred.substr(0, colon));
  auto pass = percent_decode(colon == std::string_view::npos ? "" : cred.substr(colon + 1));
  const std::size_t slash = where.find('/');
  if (!user || !pass || user->empty() || slash == std::string_view::npos) {
    return fail(ErrorKind::invalid_input, "mariadb URL needs USER:PASS@HOST/DB");
  }
  t.user = *user;
  t.password = *pass;
  std::string_view hosts = where.substr(0, slash);
  std::string_view db = where.substr(slash + 1);
  if (const std::size_t q = db.find('?'); q != std::string_view::npos) {
    const std::string_view query = db.substr(q + 1);
    db = db.substr(0, q);
    if (!query.starts_with("socket=")) {
      return fail(ErrorKind::invalid_input, "mariadb URL: only ?socket=PATH is understood");
    }
    t.socket = std::string(query.substr(7));
  }
  for (;;) {
    const std::size_t comma = hosts.find(',');
    auto host = parse_host(hosts.substr(0, comma));
    if (!host) {
      return tl::unexpected(host.error());
    }
    for (const detail::MariadbHost& seen : t.hosts) {
      if (seen.host == host->host && seen.port == host->port) {
        return fail(ErrorKind::invalid_input, "mariadb URL: host " + host->name() +
                                                  " is listed twice");
      }
    }
    t.hosts.push_back(std::move(*host));
    if (comma == std::string_view::npos) {
      break;
    }
    hosts = hosts.substr(comma + 1);
  }
  t.database = std::string(db);
  if (t.database.empty()) {
    return fail(ErrorKind::invalid_input, "mariadb URL needs a host and a database");
  }
  if (t.hosts.size() > 1 && !t.socket.empty()) {
    return fail(ErrorKind::invalid_input, "mariadb URL: ?socket= names one local server, not several hosts");
  }
  if (t.hosts.size() > 16) {
    return fail(ErrorKind::invalid_input, "mariadb URL: at most 16 hosts");
  }
  return t;
}

} // namespace

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

// Characters that make a name look like another one, or that no front end carries: C0 and C1
// controls, DEL, Unicode's default-ignorable and format characters (zero-width, bidi controls and
// isolates, soft hyphen, variation selectors, fillers, tags, BOM), private-use and unassigned.
bool forbidden_in_name(ucs4_t c) {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || uc_is_property_default_ignorable_code_point(c) ||
         uc_is_general_category(c, UC_CATEGORY_Cf) || uc_is_general_category(c, UC_CATEGORY_Co) ||
         uc_is_general_category(c, UC_CATEGORY_Cn);
}

// Unicode White_Space (the controls among it are forbidden anyway).
bool white_space(ucs4_t c) {
  return c == 0x20 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}

} // namespace

Result<std::string> normalize_username(std::string_view username) {
  if (username.empty() || username.size() > 255) {
    return fail(ErrorKind::invalid_input, "username must be 1 to 255 bytes");
  }
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(username.data());
  if (u8_check(bytes, username.size()) != nullptr) {
    return fail(ErrorKind::invalid_input, "username is not valid UTF-8");
  }
  bool ascii = true;
  ucs4_t first = 0, last = 0;
  for (std::size_t i = 0; i < username.size();) {
    ucs4_t c = 0;
    i += static_cast<std::size_t>(u8_mbtouc(&c, bytes + i, username.size() - i));
    if (forbidden_in_name(c)) {
      return fail(ErrorKind::invalid_input, "username contains a control or invisible character");
    }
    first = first == 0 ? c : first; // never 0: NUL is forbidden
    last = c;
    ascii = ascii && c < 0x80;
  }
  if (white_space(first) || white_space(last)) {
    return fail(ErrorKind::invalid_input, "username begins or ends with white space");
  }
  if (uc_is_general_category(first, UC_CATEGORY_M)) {
    return fail(ErrorKind::invalid_input, "username begins with a combining mark");
  }
  if (ascii) {
    return ascii_lower(username); // ASCII is NFC already: the login path costs no normalisation
  }
  std::size_t length = 0;
  std::uint8_t* nfc = u8_normalize(UNINORM_NFC, bytes, username.size(), nullptr, &length);
  if (nfc == nullptr) {
    return fail(ErrorKind::internal, "cannot normalise the username");
  }
  std::string out(reinterpret_cast<const char*>(nfc), length);
  std::free(nfc);
  if (out.size() > 255) {
    return fail(ErrorKind::invalid_input, "username must be 1 to 255 bytes");
  }
  return ascii_lower(out);
}

Status check_new_username(std::string_view canonical) {
  if (canonical.find(':') != std::string_view::npos) {
    return fail(ErrorKind::invalid_input, "username contains ':', which HTTP Basic cannot carry");
  }
  return {};
}

Status check_service(std::string_view service) {
  const bool ok = !service.empty() && service.size() <= 64 &&
                  service.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.-") == std::string_view::npos;
  if (!ok) {
    return fail(ErrorKind::invalid_input, "service names are 1 to 64 characters of a-z 0-9 _ . -");
  }
  return {};
}

Result<std::vector<std::string>> new_account_grants(const std::vector<std::string>& services) {
  std::set<std::string> out;
  for (const std::string& s : services) {
    if (s == k_all_services && services.size() > 1) {
      return fail(ErrorKind::invalid_input, "'all' (every service) cannot be combined with other services");
    }
    if (s == k_all_services) {
      return std::vector<std::string>{};
    }
    if (auto ok = check_service(s); !ok) {
      return tl::unexpected(ok.error());
    }
    out.insert(s);
  }
  return std::vector<std::string>(out.begin(), out.end());
}

Result<std::optional<std::vector<std::string>>> service_list(const std::vector<std::string>& services, bool at_least_one) {
  if (services.empty()) {
    if (at_least_one) {
      return fail(ErrorKind::invalid_input, "name at least one service");
    }
    return std::optional<std::vector<std::string>>(std::vector<std::string>{});
  }
  auto list = new_account_grants(services); // checked, sorted, once each; empty = "all"
  if (!list) {
    return tl::unexpected(list.error());
  }
  return list->empty() ? std::nullopt : std::optional<std::vector<std::string>>(std::move(*list));
}

std::string join_services(const std::vector<std::string>& services) {
  std::string out;
  for (const std::string& s : services) {
    out += (out.empty() ? "" : ",") + s;
  }
  return out;
}

std::vector<std::string> split_services(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return out;
}

bool main_password_allowed(const Account& account, std::string_view service) {
  if (!account.main_password_services) {
    return true;
  }
  const auto& list = *account.main_password_services;
  return std::find(list.begin(), list.end(), service) != list.end();
}

bool allowed(const Account& account, std::string_view service) {
  if (account.all_services) {
    return true;
  }
  for (const std::string& s : account.services) {
    if (s == service) {
      return true;
    }
  }
  return false;
}

Result<std::unique_ptr<CredentialStore>> open_store(const std::string& url, const StoreOptions& options,
                                                    StoreEvents events) {
  const auto timeout = std::chrono::milliseconds(options.timeout_ms);
  if (url.starts_with("sqlite:")) {
    std::string path = url.substr(7);
    if (path.starts_with("//")) {
      path = path.substr(2); // sqlite:///abs/path -> /abs/path
    }
    if (path.empty()) {
      return fail(ErrorKind::invalid_input, "sqlite URL needs a path");
    }
    // A missing directory never appears by itself: an error now, not a 503 forever.
    const std::filesystem::path dir = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
      return fail(ErrorKind::invalid_input, "sqlite database directory " + dir.string() + " does not exist");
    }
    if (std::filesystem::is_directory(path, ec)) {
      return fail(ErrorKind::invalid_input, "sqlite database " + path + " is a directory, not a file");
    }
    auto connect = [path, t = options.timeout_ms] { return detail::open_sqlite_connection(path, t); };
    return detail::make_sql_store(std::make_unique<detail::ConnectionPool>(connect, options.pool_size, timeout),
                                  detail::k_sqlite, std::move(events.race_retried));
  }
  if (url.starts_with("mariadb://") || url.starts_with("mysql://")) {
    auto target = parse_mariadb(std::string_view(url).substr(url.find("://") + 3));
    if (!target) {
      return tl::unexpected(target.error());
    }
    auto connector = std::make_shared<detail::MariadbConnector>(std::move(*target), options.timeout_ms, std::move(events.host_changed));
    auto connect = [connector] { return (*connector)(); };
    return detail::make_sql_store(std::make_unique<detail::ConnectionPool>(connect, options.pool_size, timeout),
                                  detail::k_mariadb, std::move(events.race_retried));
  }
  return fail(ErrorKind::invalid_input, "unknown store URL (use sqlite:///path.db or mariadb://USER:PASS@HOST/DB)");
}

Status read_rows(const std::string& url, const std::string& sql, int timeout_ms,
                 const std::function<void(const std::vector<std::optional<std::string>>&)>& row) {
  Result<std::unique_ptr<detail::SqlConnection>> conn = fail(ErrorKind::invalid_input, "unknown database URL");
  if (url.starts_with("sqlite:")) {
    std::string path = url.substr(7);
    conn = detail::open_sqlite_connection(path.starts_with("//") ? path.substr(2) : path, timeout_ms);
  } else if (url.starts_with("mariadb://") || url.starts_with("mysql://")) {
    auto target = parse_mariadb(std::string_view(url).substr(url.find("://") + 3));
    if (!target) {
      return tl::unexpected(target.error());
    }
    conn = detail::MariadbConnector(std::move(*target), timeout_ms)();
  }
  if (!conn) {
    return tl::unexpected(conn.error());
  }
  return (*conn)->query(sql, {}, row);
}

namespace detail {

Result<bool> change_grant_state(GrantState& state, std::string_view name, std::string_view service, bool give) {
  const bool all = service == k_all_services;
  if (auto ok = all ? Status{} : check_service(service); !ok) {
    return tl::unexpected(ok.error());
  }
  const GrantState before = state;
  const auto has = std::find(state.services.begin(), state.services.end(), service);
  if (all) {
    state = {give, {}};
  } else if (give) {
    if (state.all_services) {
      state = {false, {}};
    }
    if (std::find(state.services.begin(), state.services.end(), service) == state.services.end()) {
      state.services.emplace_back(service);
      std::sort(state.services.begin(), state.services.end());
    }
  } else if (state.all_services) {
    return fail(ErrorKind::invalid_input, "'" + std::string(name) + "' may use every service: grant the services it keeps "
                                          "(the first grant replaces 'every service'), or revoke 'all' for none");
  } else if (has == state.services.end()) {
    return fail(ErrorKind::not_found, "'" + std::string(name) + "' has no grant for '" + std::string(service) + "'");
  } else {
    state.services.erase(has);
  }
  return state.all_services != before.all_services || state.services != before.services;
}

std::vector<std::string> split_statements(std::string_view sql) {
  std::vector<std::string> out;
  std::string current;
  std::size_t pos = 0;
  while (pos < sql.size()) {
    std::size_t end = sql.find('\n', pos);
    if (end == std::string_view::npos) {
      end = sql.size();
    }
    std::string_view line = sql.substr(pos, end - pos);
    pos = end + 1;
    const std::size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line.substr(first).starts_with("--")) {
      continue;
    }
    current.append(line).push_back('\n');
    const std::size_t last = line.find_last_not_of(" \t\r");
    if (line[last] == ';') {
      current.resize(current.rfind(';'));
      out.push_back(std::move(current));
      current.clear();
    }
  }
  if (current.find_first_not_of(" \t\r\n") != std::string::npos) {
    out.push_back(std::move(current));
  }
  return out;
}

} // namespace detail
} // namespace authd::store
