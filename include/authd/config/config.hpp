#pragma once
// authd's configuration: one TOML file, every key optional with a documented default, unknown
// keys are errors naming file and line. One key table (config.cpp) drives parsing, defaults,
// validation and `--dump-config`.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "authd/policy/hash_policy.hpp"
#include "authd/util/result.hpp"

namespace authd::config {

struct StoreConfig {
  std::string url = "sqlite:///var/lib/authd/authd.db";
  int timeout_ms = 3000;   // connect/read/write timeout of one store operation
  int pool_size = 4;       // database connections kept open by authd
  std::string password_file; // database password read from this file (or $AUTHD_DB_PASSWORD_FILE)
  std::string url_as_written; // not a key: `url` before resolve_store_password put the password in
};

struct HttpConfig {
  std::vector<std::string> listen = {"127.0.0.1:8425", "unix:/run/authd/authd.sock"};
  int threads = 8;                 // worker threads for complete requests (I/O is one event loop)
  int max_connections = 16384;     // per listener; past it the longest-idle connection is closed
  int max_connections_per_peer = 64; // per untrusted TCP source (IPv4 address / IPv6 /64)
  int keepalive_timeout_s = 60;    // an idle keep-alive connection is closed after this
  int header_timeout_s = 10;       // the whole request head, from its first byte
  int body_timeout_s = 10;         // the whole request body
  int drain_timeout_s = 10;        // SIGTERM: in-flight requests get this long
  std::size_t max_header_bytes = 16384; // request line + header fields (and at most 64 fields)
  std::string socket_mode = "0660";
  std::string socket_group;        // empty: [daemon] group, or the daemon user's group, else the process's
  std::string bearer_token;        // when set, required on TCP by every password-checking endpoint and /metrics
  // Peers whose X-Forwarded-For (read right to left) and JSON remote_ip are believed; the UNIX
  // socket is always trusted.
  std::vector<std::string> trusted_proxies = {"127.0.0.0/8", "::1/128"};
  std::string realm = "authd";
  std::size_t max_body_bytes = 4096;
};

// The Dovecot auth-client protocol listener (Postfix smtpd_sasl_type = dovecot, Exim, Radicale).
struct DovecotAuthConfig {
  std::vector<std::string> listen; // empty: off. "unix:/var/spool/postfix/private/authd", "127.0.0.1:12345"
  std::string socket_mode = "0660";
  std::string socket_group;        // empty: as [http] socket_group
};

// The self-service page (off by default): users sign in with their own password, change it, and
// manage their app passwords. Meant to sit behind the site's TLS reverse proxy.
struct SelfServiceConfig {
  std::vector<std::string> listen; // empty: off. e.g. "127.0.0.1:8426" (the proxy's upstream)
  std::string service = "selfservice"; // the service a sign-in is checked for (grants apply)
  // The services a user may choose for a new app password on the page.
  std::vector<std::string> app_password_services = {"imap", "pop3", "smtp", "sieve", "radicale", "nextcloud"};
  int min_password_length = 10;   // characters (code points) of a new password
  int session_idle_s = 900;       // a session unused this long ends
  int session_max_s = 43200;      // and every session ends after this long
  int max_sessions = 10000;       // in memory; the longest-unused one ends first (8 per account at most)
  bool cookie_secure = true;      // Secure + __Host- cookies (false only for plain-HTTP tests)
};

struct CoreConfig {
  int verify_threads = 0;   // hashing threads; 0 = one per CPU core
  int queue_size = 64;      // logins waiting for a worker, per lane and front end; beyond: temporary failure
  bool cache = false;       // positive auth cache (keyed hash of user+password+service+stored hash)
  int cache_ttl_s = 60;
  int gauge_refresh_s = 300; // accounts-per-status gauges are recomputed this often
  // Userdb lookups (delivery through LDA/LMTP, the indexer, doveadm) find a disabled account:
  // its mail keeps arriving while its logins are refused. false: disabled = unknown (mail bounces).
  bool lookup_disabled = true;
};

struct ThrottleConfig {
  bool enabled = true;
  int initial_ms = 2000;        // delay after the first counted failure (Dovecot: 2 s)
  int max_ms = 15000;           // cap (Dovecot: 15 s)
  int account_free_failures = 5; // per-account failures before the account itself is slowed
  int familiar_days = 30;        // a source with a successful login this recent is "familiar"
  int hold_max_ms = 10000;       // a throttled answer is held up to this long, then verified; longer: 429
  int max_entries = 65536;       // penalty table size (least recently used evicted first)
};

struct DaemonConfig {
  std::string user;  // drop to this user after binding (empty: stay)
  std::string group;
  std::string log_level = "info";
};

struct Config {
  std::string source = "(defaults)"; // the file it came from
  std::map<std::string, int> lines;  // "section.key" -> line in `source`, for the keys it set
  StoreConfig store;
  policy::PolicyConfig policy;
  HttpConfig http;
  DovecotAuthConfig dovecot_auth;
  SelfServiceConfig selfservice;
  CoreConfig core;
  ThrottleConfig throttle;
  DaemonConfig daemon;

  // "FILE:LINE: [section] key" (or "FILE: [section] key (default)"): where an error points.
  std::string origin(std::string_view section, std::string_view key) const;
};

// $AUTHD_CONFIG when set, else /etc/authd/authd.toml.
std::string default_config_path();

// Loads `path`. A missing file is an error when `must_exist`, else the defaults.
// Errors (ErrorKind::invalid_input) name the file, the line and the key.
Result<Config> load_config(const std::string& path, bool must_exist);
Result<Config> parse_config(std::string_view toml_text, const std::string& source_name);

// Puts the password from [store] password_file (or $AUTHD_DB_PASSWORD_FILE) into a MariaDB URL
// that has none ("mariadb://authd@db/authd"), so the secret lives in a file, not in the config.
// Call after any --store override.
Status resolve_store_password(Config& config);

// Listeners: every entry parses, none twice (also across `others`), not empty unless
// `may_be_empty`; errors start with `where`.
Status check_listeners(const std::vector<std::string>& listen, const std::string& where, bool may_be_empty = false,
                       const std::vector<std::string>& others = {});

// Every key whose value differs, as "[section] key: OLD -> NEW" (secrets: "(changed)").
std::vector<std::string> changed_settings(const Config& before, const Config& after);

// A SIGHUP reload: the settings that only take effect at a start (listeners, the store, pools,
// privileges) keep their `running` values in `loaded`; returns the names of those that differed.
std::vector<std::string> keep_restart_settings(const Config& running, Config& loaded);

// Every key with its current value, as TOML (for --dump-config and the docs); secrets masked.
std::string dump_config(const Config& config);

// "mariadb://user:***@host/db": a store URL fit for logs and error messages.
std::string redact_url(const std::string& url);

} // namespace authd::config
