// Successful logins in the SQL credential store: the account's last login and its recent
// logins, grouped by service, address and credential (schema v5).
#include "sql_store.hpp"

namespace authd::store::detail {

// One transaction (one commit: the cost a login pays for being remembered): the account row,
// the recent_logins row (updated, else inserted) and the rows gone stale.
Status SqlStore::record_login(const Login& l, std::int64_t forget_before) {
  auto n = transaction([&](SqlConnection& c) -> Result<std::int64_t> {
    auto changed = c.exec("UPDATE accounts SET last_login_at = ?, last_login_service = ? WHERE id = ?",
                          {l.at, l.service, l.account_id});
    if (changed) {
      changed = c.exec("UPDATE recent_logins SET last_at = ?, logins = logins + 1 WHERE account_id = ? AND service = ? "
                       "AND ip = ? AND app_password_id = ?",
                       {l.at, l.account_id, l.service, l.ip, l.app_password_id});
    }
    if (changed && *changed == 0) {
      changed = c.exec(std::string(m_dialect.insert_ignore) +
                           " INTO recent_logins (account_id, service, ip, app_password_id, first_at, last_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                       {l.account_id, l.service, l.ip, l.app_password_id, l.at, l.at});
    }
    if (changed) {
      changed = c.exec("DELETE FROM recent_logins WHERE account_id = ? AND last_at < ?", {l.account_id, forget_before});
    }
    return changed;
  });
  return n ? Status{} : tl::unexpected(n.error());
}

Result<std::vector<RecentLogin>> SqlStore::recent_logins(std::string_view username, std::size_t limit) {
  auto found = existing(username);
  if (!found) {
    return tl::unexpected(found.error());
  }
  auto conn = m_pool->acquire();
  if (!conn) {
    return tl::unexpected(conn.error());
  }
  std::vector<RecentLogin> out;
  auto ok = (*conn)->query(
      "SELECT r.service, r.ip, r.app_password_id, COALESCE(a.label, ''), r.first_at, r.last_at, r.logins "
      "FROM recent_logins r LEFT JOIN app_passwords a ON a.id = r.app_password_id "
      "WHERE r.account_id = ? ORDER BY r.last_at DESC, r.first_at DESC LIMIT ?",
      {found->id, static_cast<std::int64_t>(limit)}, [&](const Row& r) {
        out.push_back({r[0].value_or(""), r[1].value_or(""), to_int(r[2]), r[3].value_or(""), to_int(r[4]), to_int(r[5]),
                       to_int(r[6])});
      });
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  return out;
}

} // namespace authd::store::detail
