#pragma once
// The credential store: accounts, their hashes, service grants and an event log, behind one
// interface with a SQLite driver (embedded default), a MariaDB driver and an in-memory fake.
// Lookups distinguish found / not found (nullopt) / failed (Error: temporary when the database is
// unreachable, busy or timed out; permanent for a schema newer than this build).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authd/util/result.hpp"

namespace authd::store {

struct Account {
  std::int64_t id = 0;
  std::string username;        // normalised (normalize_username)
  std::string password_hash;   // never logged, never printed by authctl
  bool enabled = true;
  std::optional<std::string> home;
  std::optional<std::int64_t> uid;
  std::optional<std::int64_t> gid;
  std::int64_t created_at = 0;          // unix seconds
  std::int64_t password_changed_at = 0; // unix seconds
  std::optional<std::int64_t> last_login_at;
  std::string last_login_service;
  bool all_services = true;             // every service; else exactly `services` (maybe none)
  std::vector<std::string> services;    // the grants when !all_services, sorted
  // The services the account's own password is accepted for: nullopt = all (the default); else
  // exactly these (maybe none: app passwords only). Grants still apply on top.
  std::optional<std::vector<std::string>> main_password_services;
  std::int64_t active_app_passwords = 0; // not revoked (for_each only: audit; find leaves 0)
};

// An app password (authctl app-password): a random secret made by authd, shown once; the store
// keeps only its verifier (app_password.hpp), the services it may be used for, and its history.
struct AppPassword {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  std::string label;
  std::vector<std::string> services; // at least one, sorted
  std::int64_t created_at = 0;
  std::optional<std::int64_t> expires_at; // unix seconds; usable before it
  std::optional<std::int64_t> last_used_at;
  std::string last_used_service;
  std::string last_used_ip;
  bool revoked = false;
};

struct NewAppPassword {
  std::string verifier; // app_password_verifier() of the secret
  std::string label;
  std::vector<std::string> services;
  std::optional<std::int64_t> expires_at;
};

struct NewAccount {
  std::string username;
  std::string password_hash;
  bool enabled = true;
  std::optional<std::string> home;
  std::optional<std::int64_t> uid;
  std::optional<std::int64_t> gid;
  std::vector<std::string> services; // none (or "all") = every service; else exactly these
};

// One successful login, for the account's recent logins (the self-service page).
struct Login {
  std::int64_t account_id = 0;
  std::string_view service;
  std::string_view ip;              // "" when unknown
  std::int64_t app_password_id = 0; // 0: the account's own password
  std::int64_t at = 0;
};

// Logins of one account grouped by service, address and credential (recent_logins, schema v5).
struct RecentLogin {
  std::string service;
  std::string ip;                   // "" when unknown
  std::int64_t app_password_id = 0; // 0: the account's own password
  std::string app_password_label;   // "" for the own password (or a deleted app password)
  std::int64_t first_at = 0;
  std::int64_t last_at = 0;
  std::int64_t count = 0;
};
inline constexpr std::int64_t k_recent_login_days = 30;

// Event kinds written by authd and authctl; events never hold a hash or a password.
struct Event {
  std::int64_t at = 0;
  std::string username;
  std::string kind;        // create, upgrade, wrap, password_change, import, delete, disable, enable, grant, revoke, lock
  std::string actor;       // "authd", "authctl", "import"
  std::string from_scheme; // scheme names only
  std::string to_scheme;
  std::string detail;
};

// One record of a bulk import (authctl import).
struct ImportRecord {
  NewAccount account;
  std::string scheme; // for the event
};
enum class ImportOutcome { imported, updated, skipped };

class CredentialStore {
public:
  virtual ~CredentialStore() = default;

  // Brings the schema to the current version (idempotent); returns the version.
  // ErrorKind::permanent when the database's schema is newer than this build knows.
  virtual Result<int> migrate() = 0;
  // The schema version found, after checking it is the one this build knows:
  // ErrorKind::permanent when it is newer or older (then `authctl db migrate`).
  virtual Result<int> check_schema() = 0;
  // Reachable and usable (readiness probe).
  virtual Status ping() = 0;

  virtual Result<std::optional<Account>> find(std::string_view username) = 0;
  // ErrorKind::conflict when the username exists.
  virtual Result<std::int64_t> create(const NewAccount& account, const Event& event) = 0;

  // Compare-and-swap of the hash: writes new_hash only if the row still holds expected_hash.
  // true = this call won; false = someone else changed it meanwhile (not an error).
  virtual Result<bool> swap_hash(std::int64_t id, std::string_view expected_hash,
                                 std::string_view new_hash, const Event& event) = 0;
  // Unconditional hash change by an administrator. ErrorKind::not_found for an unknown user.
  virtual Status set_hash(std::string_view username, std::string_view new_hash, const Event& event) = 0;
  virtual Status set_enabled(std::string_view username, bool enabled, const Event& event) = 0;
  virtual Status remove(std::string_view username, const Event& event) = 0;
  // Grants (CONTRACT.md): granting a service to an account that may use every service leaves it
  // exactly that one; revoking the last grant leaves none. The service k_all_services ("all")
  // means every service: grant = every service again, revoke = no service at all. Revoking one
  // service of an every-service account is ErrorKind::invalid_input (say which ones it keeps).
  virtual Status grant(std::string_view username, std::string_view service, const Event& event) = 0;
  virtual Status revoke(std::string_view username, std::string_view service, const Event& event) = 0;
  // A successful login: the account's last login, and its recent_logins row (rows last used
  // before `forget_before` are deleted).
  virtual Status record_login(const Login& login, std::int64_t forget_before) = 0;
  // The account's recent logins, the newest first; not_found for an unknown user.
  virtual Result<std::vector<RecentLogin>> recent_logins(std::string_view username, std::size_t limit) = 0;
  // Familiar sources (the throttle): a successful login of account `id` from `source` at `at`;
  // the account's rows older than `forget_before` are dropped on the way.
  virtual Status remember_source(std::int64_t id, std::string_view source, std::int64_t at, std::int64_t forget_before) = 0;
  // Did account `id` log in successfully from `source` at or after `since`?
  virtual Result<bool> familiar(std::int64_t id, std::string_view source, std::int64_t since) = 0;

  // Every account in id order, fetched in pages (bounded memory, no long-held cursor; the
  // callback may use the store). The callback returns false to stop. Accounts carry their grants.
  virtual Status for_each(const std::function<bool(const Account&)>& visit) = 0;

  // Bulk import in ONE transaction: `next` fills the next record (false = no more); each record
  // is inserted, or — when the user exists — replaced (update) or skipped; `done` hears each
  // outcome. Any store error rolls everything back: nothing is half-imported.
  virtual Status import(const std::function<bool(ImportRecord&)>& next, bool update, const std::string& actor,
                        const std::function<void(const ImportRecord&, ImportOutcome)>& done) = 0;

  // The newest events first, optionally of one user.
  virtual Result<std::vector<Event>> events(std::string_view username, std::size_t limit) = 0;

  // App passwords. add: the new id (not_found for an unknown user; services checked, at least
  // one). list: every one of the account, newest first. revoke: not_found unless `id` is one of
  // this account's (revoking twice is fine).
  virtual Result<std::int64_t> add_app_password(std::string_view username, const NewAppPassword& app,
                                                const Event& event) = 0;
  virtual Result<std::vector<AppPassword>> app_passwords(std::string_view username) = 0;
  virtual Status revoke_app_password(std::string_view username, std::int64_t id, const Event& event) = 0;
  // A login: the app password of account `account_id` with this verifier (an index lookup), if any.
  virtual Result<std::optional<AppPassword>> find_app_password(std::int64_t account_id, std::string_view verifier) = 0;
  virtual Status app_password_used(std::int64_t id, std::string_view service, std::string_view ip, std::int64_t at) = 0;
  // nullopt: the account's own password for every service again.
  virtual Status set_main_password_services(std::string_view username,
                                            const std::optional<std::vector<std::string>>& services,
                                            const Event& event) = 0;
};

struct StoreOptions {
  int timeout_ms = 3000; // connect, read, write and lock-wait bound of one operation
  int pool_size = 4;
};

// Opens a store from a URL (CONTRACT.md): sqlite:///abs/path.db, sqlite:relative/path.db,
// mariadb://USER:PASS@HOST:PORT/DB, mariadb://USER:PASS@localhost/DB?socket=/path.
// Opening does not connect to MariaDB yet (a down server is a temporary error on first use).
// What a store tells its owner as it goes (authd logs and counts it; unset, nothing is said).
// Called on the thread that met it.
struct StoreEvents {
  // Several MariaDB hosts: the store starts using another host, with which and why, and whether
  // it is a fallback (not the first host, or no node synced).
  std::function<void(bool fallback, const std::string& line)> host_changed;
  // A transaction lost a race to a concurrent write (a Galera certification failure, a deadlock)
  // and is run again.
  std::function<void()> race_retried;
};
Result<std::unique_ptr<CredentialStore>> open_store(const std::string& url, const StoreOptions& options,
                                                    StoreEvents events = {});

// Runs one SELECT on another (legacy) database given by a store URL — authctl import --sql.
// Each row arrives as text or NULL. The statement is prepared; nothing is interpolated.
Status read_rows(const std::string& url, const std::string& sql, int timeout_ms,
                 const std::function<void(const std::vector<std::optional<std::string>>&)>& row);

// An in-memory store with the same semantics, for unit tests of the layers above.
std::unique_ptr<CredentialStore> make_memory_store();

// The one canonical form of a user name, used everywhere (store, throttle keys, events, answers):
// 1..255 bytes of valid UTF-8; no control or invisible format characters; no white space at
// either end; Unicode NFC (an NFD spelling finds the NFC account); ASCII letters lower-cased
// (Dovecot's default auth_username_format = %Lu). ErrorKind::invalid_input otherwise.
Result<std::string> normalize_username(std::string_view username);
// What a NEW account's canonical name must also satisfy (add, import): no ':' (HTTP Basic cannot
// carry it). ErrorKind::invalid_input otherwise.
Status check_new_username(std::string_view canonical);
// Service names: 1..64 chars of [a-z0-9_.-]. In grants "all" (k_all_services) is the keyword
// for every service, never a grant row; a request for service "all" is just a service name.
inline constexpr std::string_view k_all_services = "all";
Status check_service(std::string_view service);

// The grants of a new account: none (or "all" alone) = every service; "all" with others is an
// error; each
// name checked (ErrorKind::invalid_input); sorted, once each.
Result<std::vector<std::string>> new_account_grants(const std::vector<std::string>& services);

// Whether an account may use a service (all_services, or a grant for it).
bool allowed(const Account& account, std::string_view service);
// Whether the account's own password is accepted for a service (main_password_services).
bool main_password_allowed(const Account& account, std::string_view service);
// A list of services for app passwords and main_password_services: each checked, "all" alone
// (nullopt) means every service, sorted, once each; `at_least_one` refuses an empty list.
Result<std::optional<std::vector<std::string>>> service_list(const std::vector<std::string>& services, bool at_least_one);
// The comma-separated form the SQL store keeps, and back.
std::string join_services(const std::vector<std::string>& services);
std::vector<std::string> split_services(std::string_view text);

std::int64_t now_seconds();

} // namespace authd::store
