#include "authd/config/config.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <cctype>
#include <variant>

#include <toml++/toml.h>

#include "authd/util/net.hpp"
#include "authd/util/secret.hpp"

namespace authd::config {
namespace {

template <class T>
using Ref = T& (*)(Config&);
using Binding = std::variant<Ref<std::string>, Ref<int>, Ref<bool>, Ref<std::vector<std::string>>,
                             Ref<std::size_t>, Ref<std::uint32_t>, Ref<policy::Target>>;

struct Key {
  std::string_view section;
  std::string_view name;
  Binding ref;
  long long min = 0; // integers only
  long long max = 0;
  Status (*check)(std::string_view item) = nullptr; // strings and string arrays: each value
  // restart: bound or opened once at start (listeners, store, pools, privileges); a SIGHUP
  // reload names a change and keeps the running value. live: takes effect at the reload.
  bool restart = false;
};

constexpr bool k_restart = true;
constexpr std::uintmax_t k_max_config_bytes = 1 << 20;

Status check_listen(std::string_view item) {
  auto a = parse_listen(item);
  return a ? Status{} : Status(tl::unexpected(a.error()));
}

Status check_octal_mode(std::string_view item) {
  unsigned long mode = 0;
  const auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), mode, 8);
  if (item.empty() || ec != std::errc() || p != item.data() + item.size() || mode > 0777) {
    return fail(ErrorKind::invalid_input, "must be an octal file mode from \"0000\" to \"0777\", e.g. \"0660\"");
  }
  return {};
}

Status check_log_level(std::string_view item) {
  for (std::string_view level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    if (item == level) {
      return {};
    }
  }
  return fail(ErrorKind::invalid_input, "must be trace, debug, info, warn, error, critical or off");
}

Status check_cidr(std::string_view item) {
  auto net = parse_cidr(item);
  return net ? Status{} : Status(tl::unexpected(net.error()));
}

// As store::check_service (config does not link the store).
Status check_service_name(std::string_view item) {
  if (item.empty() || item.size() > 64 || item.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.-") != std::string_view::npos) {
    return fail(ErrorKind::invalid_input, "must be a service name: 1 to 64 characters of a-z 0-9 _ . -");
  }
  return {};
}

// The one key table. Defaults live in the structs of config.hpp; docs in docs/CONFIG.md.
const Key k_keys[] = {
    {"store", "url", +[](Config& c) -> std::string& { return c.store.url; }, 0, 0, nullptr, k_restart},
    {"store", "timeout_ms", +[](Config& c) -> int& { return c.store.timeout_ms; }, 100, 600000, nullptr, k_restart},
    {"store", "pool_size", +[](Config& c) -> int& { return c.store.pool_size; }, 1, 256, nullptr, k_restart},
    {"store", "password_file", +[](Config& c) -> std::string& { return c.store.password_file; }, 0, 0, nullptr, k_restart},
    {"policy", "target", +[](Config& c) -> policy::Target& { return c.policy.target; }},
    {"policy", "bcrypt_cost", +[](Config& c) -> int& { return c.policy.bcrypt_cost; }, 4, 31},
    {"policy", "argon2_ops", +[](Config& c) -> std::uint32_t& { return c.policy.argon2.ops; }, 1, 1000},
    {"policy", "argon2_mem_kib", +[](Config& c) -> std::uint32_t& { return c.policy.argon2.mem_kib; }, 8, 1048576},
    {"policy", "bare_hex_md5", +[](Config& c) -> bool& { return c.policy.identify.bare_hex_md5; }},
    {"policy", "bare_base64_md5", +[](Config& c) -> bool& { return c.policy.identify.bare_base64_md5; }},
    {"policy", "bare_des", +[](Config& c) -> bool& { return c.policy.identify.bare_des; }},
    {"policy", "bare_mysql323", +[](Config& c) -> bool& { return c.policy.identify.bare_mysql323; }},
    {"http", "listen", +[](Config& c) -> std::vector<std::string>& { return c.http.listen; }, 0, 0, check_listen, k_restart},
    {"http", "threads", +[](Config& c) -> int& { return c.http.threads; }, 1, 1024, nullptr, k_restart},
    {"http", "max_connections", +[](Config& c) -> int& { return c.http.max_connections; }, 16, 1000000},
    {"http", "max_connections_per_peer", +[](Config& c) -> int& { return c.http.max_connections_per_peer; }, 1, 1000000},
    {"http", "keepalive_timeout_s", +[](Config& c) -> int& { return c.http.keepalive_timeout_s; }, 1, 3600},
    {"http", "header_timeout_s", +[](Config& c) -> int& { return c.http.header_timeout_s; }, 1, 600},
    {"http", "body_timeout_s", +[](Config& c) -> int& { return c.http.body_timeout_s; }, 1, 600},
    {"http", "drain_timeout_s", +[](Config& c) -> int& { return c.http.drain_timeout_s; }, 0, 600},
    {"http", "max_header_bytes", +[](Config& c) -> std::size_t& { return c.http.max_header_bytes; }, 1024, 1048576},
    {"http", "socket_mode", +[](Config& c) -> std::string& { return c.http.socket_mode; }, 0, 0, check_octal_mode, k_restart},
    {"http", "socket_group", +[](Config& c) -> std::string& { return c.http.socket_group; }, 0, 0, nullptr, k_restart},
    {"http", "bearer_token", +[](Config& c) -> std::string& { return c.http.bearer_token; }},
    {"http", "trusted_proxies", +[](Config& c) -> std::vector<std::string>& { return c.http.trusted_proxies; }, 0, 0, check_cidr},
    {"http", "realm", +[](Config& c) -> std::string& { return c.http.realm; }},
    {"http", "max_body_bytes", +[](Config& c) -> std::size_t& { return c.http.max_body_bytes; }, 256, 1048576},
    {"dovecot_auth", "listen", +[](Config& c) -> std::vector<std::string>& { return c.dovecot_auth.listen; }, 0, 0, check_listen, k_restart},
    {"dovecot_auth", "socket_mode", +[](Config& c) -> std::string& { return c.dovecot_auth.socket_mode; }, 0, 0, check_octal_mode, k_restart},
    {"dovecot_auth", "socket_group", +[](Config& c) -> std::string& { return c.dovecot_auth.socket_group; }, 0, 0, nullptr, k_restart},
    {"selfservice", "listen", +[](Config& c) -> std::vector<std::string>& { return c.selfservice.listen; }, 0, 0, check_listen, k_restart},
    {"selfservice", "service", +[](Config& c) -> std::string& { return c.selfservice.service; }, 0, 0, check_service_name},
    {"selfservice", "app_password_services", +[](Config& c) -> std::vector<std::string>& { return c.selfservice.app_password_services; }, 0, 0, check_service_name},
    {"selfservice", "min_password_length", +[](Config& c) -> int& { return c.selfservice.min_password_length; }, 1, 1024},
    {"selfservice", "session_idle_s", +[](Config& c) -> int& { return c.selfservice.session_idle_s; }, 60, 86400},
    {"selfservice", "session_max_s", +[](Config& c) -> int& { return c.selfservice.session_max_s; }, 60, 2592000},
    {"selfservice", "max_sessions", +[](Config& c) -> int& { return c.selfservice.max_sessions; }, 10, 1000000},
    {"selfservice", "cookie_secure", +[](Config& c) -> bool& { return c.selfservice.cookie_secure; }},
    {"core", "verify_threads", +[](Config& c) -> int& { return c.core.verify_threads; }, 0, 256, nullptr, k_restart},
    {"core", "queue_size", +[](Config& c) -> int& { return c.core.queue_size; }, 1, 100000, nullptr, k_restart},
    {"core", "cache", +[](Config& c) -> bool& { return c.core.cache; }},
    {"core", "cache_ttl_s", +[](Config& c) -> int& { return c.core.cache_ttl_s; }, 1, 86400},
    {"core", "gauge_refresh_s", +[](Config& c) -> int& { return c.core.gauge_refresh_s; }, 1, 86400},
    {"core", "lookup_disabled", +[](Config& c) -> bool& { return c.core.lookup_disabled; }},
    {"throttle", "enabled", +[](Config& c) -> bool& { return c.throttle.enabled; }},
    {"throttle", "initial_ms", +[](Config& c) -> int& { return c.throttle.initial_ms; }, 1, 600000},
    {"throttle", "max_ms", +[](Config& c) -> int& { return c.throttle.max_ms; }, 1, 3600000},
    {"throttle", "account_free_failures", +[](Config& c) -> int& { return c.throttle.account_free_failures; }, 0, 1000},
    {"throttle", "familiar_days", +[](Config& c) -> int& { return c.throttle.familiar_days; }, 0, 3650},
    {"throttle", "hold_max_ms", +[](Config& c) -> int& { return c.throttle.hold_max_ms; }, 0, 60000},
    {"throttle", "max_entries", +[](Config& c) -> int& { return c.throttle.max_entries; }, 100, 10000000},
    {"daemon", "user", +[](Config& c) -> std::string& { return c.daemon.user; }, 0, 0, nullptr, k_restart},
    {"daemon", "group", +[](Config& c) -> std::string& { return c.daemon.group; }, 0, 0, nullptr, k_restart},
    {"daemon", "log_level", +[](Config& c) -> std::string& { return c.daemon.log_level; }, 0, 0, check_log_level},
};

std::string where(const std::string& source, const toml::node& node, std::string_view section,
                  std::string_view key) {
  std::ostringstream out;
  out << source << ":" << node.source().begin.line << ": [" << section << "] " << key;
  return out.str();
}

struct Assign {
  Config& config;
  const toml::node& node;
  const Key& key;
  std::string at;

  Status bad(std::string_view what) const {
    return fail(ErrorKind::invalid_input, at + ": " + std::string(what));
  }
  template <class Int>
  Status integer(Ref<Int> ref) const {
    const auto v = node.value<long long>();
    if (!node.is_integer() || !v) {
      return bad("must be an integer");
    }
    if (*v < key.min || *v > key.max) {
      return bad("must be between " + std::to_string(key.min) + " and " + std::to_string(key.max));
    }
    ref(config) = static_cast<Int>(*v);
    return {};
  }
  Status operator()(Ref<int> ref) const { return integer(ref); }
  Status operator()(Ref<std::size_t> ref) const { return integer(ref); }
  Status operator()(Ref<std::uint32_t> ref) const { return integer(ref); }
  Status operator()(Ref<std::string> ref) const {
    if (!node.is_string()) {
      return bad("must be a string");
    }
    ref(config) = *node.value<std::string>();
    if (key.check != nullptr) {
      if (auto ok = key.check(ref(config)); !ok) {
        return bad(ok.error().message);
      }
    }
    return {};
  }
  Status operator()(Ref<bool> ref) const {
    if (!node.is_boolean()) {
      return bad("must be true or false");
    }
    ref(config) = *node.value<bool>();
    return {};
  }
  Status operator()(Ref<std::vector<std::string>> ref) const {
    const toml::array* arr = node.as_array();
    if (arr == nullptr) {
      return bad("must be an array of strings");
    }
    std::vector<std::string> out;
    for (const toml::node& item : *arr) {
      if (!item.is_string()) {
        return bad("must be an array of strings");
      }
      out.push_back(*item.value<std::string>());
      if (key.check != nullptr) {
        if (auto ok = key.check(out.back()); !ok) {
          return bad(ok.error().message);
        }
      }
    }
    ref(config) = std::move(out);
    return {};
  }
  Status operator()(Ref<policy::Target> ref) const {
    const auto v = node.value<std::string>();
    if (v == "bcrypt") {
      ref(config) = policy::Target::bcrypt;
    } else if (v == "argon2id") {
      ref(config) = policy::Target::argon2id;
    } else {
      return bad("must be \"bcrypt\" or \"argon2id\"");
    }
    return {};
  }
};

const Key* find_key(std::string_view section, std::string_view name) {
  for (const Key& key : k_keys) {
    if (key.section == section && key.name == name) {
      return &key;
    }
  }
  return nullptr;
}

Status apply(Config& config, const toml::table& root, const std::string& source) {
  for (const auto& [section_name, section_node] : root) {
    const toml::table* section = section_node.as_table();
    if (section == nullptr) {
      return fail(ErrorKind::invalid_input, source + ":" + std::to_string(section_node.source().begin.line) +
                                                ": unknown top-level key '" + std::string(section_name.str()) + "'");
    }
    for (const auto& [name, node] : *section) {
      const Key* key = find_key(section_name.str(), name.str());
      const std::string at = where(source, node, section_name.str(), name.str());
      if (key == nullptr) {
        return fail(ErrorKind::invalid_input, at + ": unknown key");
      }
      if (auto ok = std::visit(Assign{config, node, *key, at}, key->ref); !ok) {
        return ok;
      }
      config.lines[std::string(section_name.str()) + "." + std::string(name.str())] = static_cast<int>(node.source().begin.line);
    }
  }
  return {};
}

// Where the password of a URL's user-info is ("scheme://USER:PASS@…"), or nullopt when it has none.
std::optional<std::pair<std::size_t, std::size_t>> password_span(const std::string& url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return std::nullopt;
  }
  const std::size_t rest = scheme_end + 3;
  const std::size_t at = url_userinfo_end(std::string_view(url).substr(rest));
  const std::size_t colon = url.find(':', rest);
  if (at == std::string::npos || colon == std::string::npos || colon > rest + at) {
    return std::nullopt;
  }
  return std::make_pair(colon + 1, rest + at);
}

} // namespace

Status check_listeners(const std::vector<std::string>& listen, const std::string& at, bool may_be_empty,
                       const std::vector<std::string>& others) {
  if (listen.empty() && !may_be_empty) {
    return fail(ErrorKind::invalid_input, at + ": is empty: authd would accept no connection (socket activation ignores it)");
  }
  std::vector<std::string> seen;
  for (const std::string& text : others) {
    if (auto a = parse_listen(text)) {
      seen.push_back(describe(*a));
    }
  }
  for (const std::string& text : listen) {
    auto a = parse_listen(text);
    if (!a) {
      return fail(ErrorKind::invalid_input, at + ": " + a.error().message);
    }
    const std::string name = describe(*a);
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      return fail(ErrorKind::invalid_input, at + ": " + name + " is listed twice (a socket serves one protocol)");
    }
    seen.push_back(name);
  }
  return {};
}

std::vector<std::string> changed_settings(const Config& before, const Config& after) {
  std::vector<std::string> out;
  Config a = before, b = after; // the key table's refs take a mutable Config
  for (const Key& key : k_keys) {
    std::visit(
        [&](auto ref) {
          if (ref(a) == ref(b)) {
            return;
          }
          std::string line = "[" + std::string(key.section) + "] " + std::string(key.name);
          using T = std::remove_reference_t<decltype(ref(a))>;
          if constexpr (std::is_same_v<T, std::string>) {
            const bool secret = key.name == "bearer_token" || key.name == "url";
            line += secret ? " (changed)" : ": \"" + ref(a) + "\" -> \"" + ref(b) + "\"";
          } else if constexpr (std::is_same_v<T, bool>) {
            line += std::string(": ") + (ref(a) ? "true" : "false") + " -> " + (ref(b) ? "true" : "false");
          } else if constexpr (std::is_arithmetic_v<T>) {
            line += ": " + std::to_string(ref(a)) + " -> " + std::to_string(ref(b));
          } else if constexpr (std::is_same_v<T, policy::Target>) {
            line += std::string(": ") + policy::to_string(ref(a)) + " -> " + policy::to_string(ref(b));
          } else {
            line += " (changed)";
          }
          out.push_back(std::move(line));
        },
        key.ref);
  }
  return out;
}

std::string Config::origin(std::string_view section, std::string_view key) const {
  const auto it = lines.find(std::string(section) + "." + std::string(key));
  const std::string name = "[" + std::string(section) + "] " + std::string(key);
  return it == lines.end() ? source + ": " + name + " (default)" : source + ":" + std::to_string(it->second) + ": " + name;
}

std::vector<std::string> keep_restart_settings(const Config& running, Config& loaded) {
  std::vector<std::string> kept;
  Config from = running; // the key table's refs take a mutable Config
  for (const Key& key : k_keys) {
    if (!key.restart) {
      continue;
    }
    std::visit(
        [&](auto ref) {
          if (ref(from) != ref(loaded)) {
            kept.push_back("[" + std::string(key.section) + "] " + std::string(key.name));
            ref(loaded) = ref(from);
          }
        },
        key.ref);
  }
  return kept;
}

std::string default_config_path() {
  const char* env = std::getenv("AUTHD_CONFIG");
  return (env != nullptr && *env != '\0') ? env : "/etc/authd/authd.toml";
}

Result<Config> parse_config(std::string_view toml_text, const std::string& source_name) {
  Config config;
  config.source = source_name;
  try {
    const toml::table root = toml::parse(toml_text, source_name);
    if (auto ok = apply(config, root, source_name); !ok) {
      return tl::unexpected(ok.error());
    }
    if (auto ok = check_listeners(config.http.listen, config.origin("http", "listen")); !ok) {
      return tl::unexpected(ok.error());
    }
    if (auto ok = check_listeners(config.dovecot_auth.listen, config.origin("dovecot_auth", "listen"), true, config.http.listen); !ok) {
      return tl::unexpected(ok.error());
    }
    std::vector<std::string> others = config.http.listen;
    others.insert(others.end(), config.dovecot_auth.listen.begin(), config.dovecot_auth.listen.end());
    if (auto ok = check_listeners(config.selfservice.listen, config.origin("selfservice", "listen"), true, others); !ok) {
      return tl::unexpected(ok.error());
    }
  } catch (const toml::parse_error& e) {
    return fail(ErrorKind::invalid_input, source_name + ":" + std::to_string(e.source().begin.line) +
                                              ": " + std::string(e.description()));
  }
  return config;
}

Result<Config> load_config(const std::string& path, bool must_exist) {
  std::error_code ec;
  const auto type = std::filesystem::status(path, ec).type();
  if (type == std::filesystem::file_type::not_found) {
    if (must_exist) {
      return fail(ErrorKind::invalid_input, path + ": config file not found");
    }
    return Config{};
  }
  if (type == std::filesystem::file_type::directory) {
    return fail(ErrorKind::invalid_input, path + ": is a directory, not a config file");
  }
  if (type != std::filesystem::file_type::regular) { // a FIFO or a device would block or never end
    return fail(ErrorKind::invalid_input, path + ": is not a regular file");
  }
  if (std::filesystem::file_size(path, ec) > k_max_config_bytes) {
    return fail(ErrorKind::invalid_input, path + ": larger than 1 MiB: not a config file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(ErrorKind::invalid_input, path + ": cannot read config file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

Status resolve_store_password(Config& config) {
  const char* env = std::getenv("AUTHD_DB_PASSWORD_FILE");
  std::string file = config.store.password_file;
  if (file.empty() && env != nullptr && *env != '\0') {
    // The variable is a fallback for a MariaDB URL without a password; an SQLite store, or a URL
    // that has its password, does not need it (a variable left in a unit must not stop a start).
    const std::string& u = config.store.url;
    if ((u.starts_with("mariadb://") || u.starts_with("mysql://")) && !password_span(u)) {
      file = env;
    }
  }
  if (file.empty()) {
    return {};
  }
  const std::string at_key = config.store.password_file.empty() ? "$AUTHD_DB_PASSWORD_FILE" : config.origin("store", "password_file");
  std::ifstream in(file);
  std::string password;
  if (!in || !std::getline(in, password)) {
    return fail(ErrorKind::invalid_input, at_key + ": cannot read the database password from " + file);
  }
  if (!password.empty() && password.back() == '\r') {
    password.pop_back(); // a file written on Windows: the CR is not part of the password
  }
  if (password.empty()) {
    return fail(ErrorKind::invalid_input, at_key + ": " + file + " holds an empty first line, not a password");
  }
  std::string& url = config.store.url;
  const std::size_t scheme_end = url.find("://");
  const std::size_t at = scheme_end == std::string::npos ? scheme_end : url_userinfo_end(std::string_view(url).substr(scheme_end + 3));
  if (at == std::string::npos || password_span(url)) {
    wipe(password.data(), password.size());
    return fail(ErrorKind::invalid_input, at_key + ": needs a store URL of the form mariadb://USER@HOST/DB (no password)");
  }
  config.store.url_as_written = url;
  std::string encoded;
  for (const char ch : password) {
    const auto c = static_cast<unsigned char>(ch);
    static const char* hex = "0123456789ABCDEF";
    const bool plain = std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~';
    encoded += plain ? std::string(1, static_cast<char>(c)) : std::string{'%', hex[c >> 4], hex[c & 15]};
  }
  url.insert(scheme_end + 3 + at, ":" + encoded);
  wipe(password.data(), password.size());
  wipe(encoded.data(), encoded.size());
  return {};
}

// Secrets never leave in a dump: the store URL's password and the bearer token are masked.
std::string redact_url(const std::string& url) {
  const auto span = password_span(url);
  return span ? url.substr(0, span->first) + "***" + url.substr(span->second) : url;
}

std::string dump_config(const Config& original) {
  Config c = original;
  c.store.url = redact_url(c.store.url);
  if (!c.http.bearer_token.empty()) {
    c.http.bearer_token = "***";
  }
  toml::table root;
  for (const Key& key : k_keys) {
    if (!root.contains(key.section)) {
      root.insert(key.section, toml::table{});
    }
    toml::table& section = *root[key.section].as_table();
    std::visit(
        [&](auto ref) {
          using T = std::remove_reference_t<decltype(ref(c))>;
          if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            toml::array arr;
            for (const auto& s : ref(c)) {
              arr.push_back(s);
            }
            section.insert(key.name, arr);
          } else if constexpr (std::is_same_v<T, policy::Target>) {
            section.insert(key.name, std::string(policy::to_string(ref(c))));
          } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool>) {
            section.insert(key.name, ref(c));
          } else {
            section.insert(key.name, static_cast<int64_t>(ref(c)));
          }
        },
        key.ref);
  }
  std::ostringstream out;
  out << root << "\n";
  return out.str();
}

} // namespace authd::config
