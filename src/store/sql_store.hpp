#pragma once
// Private to the store module: the SQL credential store's class, shared by sql_store.cpp (the
// account operations) and sql_import.cpp (bulk import).
#include <map>
#include <set>

#include "authd/store/credential_store.hpp"
#include "sql.hpp"

namespace authd::store::detail {

inline constexpr std::string_view k_account_columns =
    "id, username, password_hash, enabled, home, uid, gid, created_at, password_changed_at, "
    "last_login_at, last_login_service, all_services, main_password_services";
inline constexpr std::string_view k_app_columns =
    "id, account_id, label, services, created_at, expires_at, last_used_at, last_used_service, last_used_ip, revoked_at";
inline constexpr std::size_t k_page = 1000;

inline std::int64_t to_int(const std::optional<std::string>& v) { return v ? std::stoll(*v) : 0; }

inline Account account_from(const Row& r) {
  Account a;
  a.id = to_int(r[0]);
  a.username = r[1].value_or("");
  a.password_hash = r[2].value_or("");
  a.enabled = to_int(r[3]) != 0;
  a.home = r[4];
  if (r[5]) {
    a.uid = to_int(r[5]);
  }
  if (r[6]) {
    a.gid = to_int(r[6]);
  }
  a.created_at = to_int(r[7]);
  a.password_changed_at = to_int(r[8]);
  if (r[9]) {
    a.last_login_at = to_int(r[9]);
  }
  a.last_login_service = r[10].value_or("");
  a.all_services = to_int(r[11]) != 0;
  if (r[12]) {
    a.main_password_services = split_services(*r[12]);
  }
  return a;
}

inline AppPassword app_password_from(const Row& r) {
  AppPassword p;
  p.id = to_int(r[0]);
  p.account_id = to_int(r[1]);
  p.label = r[2].value_or("");
  p.services = split_services(r[3].value_or(""));
  p.created_at = to_int(r[4]);
  if (r[5]) {
    p.expires_at = to_int(r[5]);
  }
  if (r[6]) {
    p.last_used_at = to_int(r[6]);
  }
  p.last_used_service = r[7].value_or("");
  p.last_used_ip = r[8].value_or("");
  p.revoked = r[9].has_value();
  return p;
}

inline SqlValue opt(const std::optional<std::string>& v) {
  return v ? SqlValue(std::string_view(*v)) : SqlValue(std::monostate{});
}
inline SqlValue opt(const std::optional<std::int64_t>& v) { return v ? SqlValue(*v) : SqlValue(std::monostate{}); }

class SqlStore final : public CredentialStore {
public:
  SqlStore(std::unique_ptr<ConnectionPool> pool, const Dialect& dialect, std::function<void()> race_retried = {})
      : m_pool(std::move(pool)), m_dialect(dialect), m_race_retried(std::move(race_retried)) {}

  Result<int> migrate() override;
  Result<int> check_schema() override;
  Status ping() override;
  Result<std::optional<Account>> find(std::string_view username) override;
  Result<std::int64_t> create(const NewAccount& account, const Event& event) override;
  Result<bool> swap_hash(std::int64_t id, std::string_view expected, std::string_view fresh,
                         const Event& event) override;
  Status set_hash(std::string_view username, std::string_view hash, const Event& event) override;
  Status set_enabled(std::string_view username, bool enabled, const Event& event) override;
  Status remove(std::string_view username, const Event& event) override;
  Status grant(std::string_view username, std::string_view service, const Event& event) override;
  Status revoke(std::string_view username, std::string_view service, const Event& event) override;
  Status record_login(const Login& login, std::int64_t forget_before) override;
  Result<std::vector<RecentLogin>> recent_logins(std::string_view username, std::size_t limit) override;
  Status remember_source(std::int64_t id, std::string_view source, std::int64_t at, std::int64_t forget_before) override;
  Result<bool> familiar(std::int64_t id, std::string_view source, std::int64_t since) override;
  Status for_each(const std::function<bool(const Account&)>& visit) override;
  Result<std::vector<Event>> events(std::string_view username, std::size_t limit) override;
  Status import(const std::function<bool(ImportRecord&)>& next, bool update, const std::string& actor,
                const std::function<void(const ImportRecord&, ImportOutcome)>& done) override;
  Result<std::int64_t> add_app_password(std::string_view username, const NewAppPassword& app, const Event& event) override;
  Result<std::vector<AppPassword>> app_passwords(std::string_view username) override;
  Status revoke_app_password(std::string_view username, std::int64_t id, const Event& event) override;
  Result<std::optional<AppPassword>> find_app_password(std::int64_t account_id, std::string_view verifier) override;
  Status app_password_used(std::int64_t id, std::string_view service, std::string_view ip, std::int64_t at) override;
  Status set_main_password_services(std::string_view username, const std::optional<std::vector<std::string>>& services,
                                    const Event& event) override;

private:
  using Body = std::function<Result<std::int64_t>(SqlConnection&)>;
  // Runs body in a transaction on one connection; rolls back on error; runs it again when it
  // lost a race (a deadlock, a Galera certification failure), a bounded number of times.
  Result<std::int64_t> transaction(const Body& body);
  Result<std::int64_t> attempt(SqlConnection& c, const Body& body, bool catch_up, bool& begun, bool& lost);
  // Runs a read; once more on a fresh connection when the first broke at once (its server went
  // away), not when it timed out.
  Status read(const std::function<Status(SqlConnection&)>& body);
  Result<int> read_version(SqlConnection& conn);
  static Status write_event(SqlConnection& conn, const Event& event, std::string_view username);
  // UPDATE/DELETE by username plus its event; ErrorKind::not_found when no row matched.
  // exact: the name as stored, not normalised (removing a non-canonical row).
  Status change_user(std::string_view username, std::string_view sql, std::vector<SqlValue> params,
                     const Event& event, bool exact = false);
  // grant/revoke: the rules of grant_rules.hpp in one transaction with the event.
  Status change_grants(std::string_view username, std::string_view service, const Event& event, bool give);
  // Fills `services` of the page's accounts (ids ascending) from one query.
  Status load_grants(SqlConnection& c, std::vector<Account>& page);
  // Fills `active_app_passwords` of the page's accounts from one query.
  Status load_app_password_counts(SqlConnection& c, std::vector<Account>& page);
  // The account of this name, or not_found.
  Result<Account> existing(std::string_view username);
  // The id of the account with this (normalised) name inside a transaction, or not_found.
  static Result<std::int64_t> account_id(SqlConnection& c, const std::string& name);
  Result<std::int64_t> import_batch(SqlConnection& c, std::vector<ImportRecord>& batch, bool update,
                                    const std::string& actor, std::int64_t now,
                                    const std::function<void(const ImportRecord&, ImportOutcome)>& done);

  std::unique_ptr<ConnectionPool> m_pool;
  const Dialect& m_dialect;
  std::function<void()> m_race_retried;
};

} // namespace authd::store::detail
