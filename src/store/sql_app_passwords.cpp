// App passwords and the main-password restriction of the SQL credential store (schema v4).
#include "sql_store.hpp"

namespace authd::store::detail {

Result<std::int64_t> SqlStore::account_id(SqlConnection& c, const std::string& name) {
  std::optional<std::int64_t> id;
  auto ok = c.query("SELECT id FROM accounts WHERE username = ?", {std::string_view(name)},
                    [&](const Row& r) { id = to_int(r[0]); });
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  if (!id) {
    return fail(ErrorKind::not_found, "no such user '" + name + "'");
  }
  return *id;
}

Result<Account> SqlStore::existing(std::string_view username) {
  auto found = find(username);
  if (!found) {
    return tl::unexpected(found.error());
  }
  if (!*found) {
    return fail(ErrorKind::not_found, "no such user '" + std::string(username) + "'");
  }
  return std::move(**found);
}

Result<std::int64_t> SqlStore::add_app_password(std::string_view username, const NewAppPassword& app, const Event& event) {
  auto name = normalize_username(username);
  if (!name) {
    return tl::unexpected(name.error());
  }
  auto services = service_list(app.services, true);
  if (!services) {
    return tl::unexpected(services.error());
  }
  const std::string list = *services ? join_services(**services) : std::string(k_all_services);
  return transaction([&](SqlConnection& c) -> Result<std::int64_t> {
    auto id = account_id(c, *name);
    if (!id) {
      return id;
    }
    auto ins = c.exec("INSERT INTO app_passwords (account_id, verifier, label, services, created_at, expires_at) "
                      "VALUES (?, ?, ?, ?, ?, ?)",
                      {*id, std::string_view(app.verifier), std::string_view(app.label), std::string_view(list),
                       now_seconds(), opt(app.expires_at)});
    if (!ins) {
      return tl::unexpected(ins.error());
    }
    const std::int64_t app_id = c.last_insert_id();
    if (auto ok = write_event(c, event, *name); !ok) {
      return tl::unexpected(ok.error());
    }
    return app_id;
  });
}

Result<std::vector<AppPassword>> SqlStore::app_passwords(std::string_view username) {
  auto found = existing(username);
  if (!found) {
    return tl::unexpected(found.error());
  }
  auto conn = m_pool->acquire();
  if (!conn) {
    return tl::unexpected(conn.error());
  }
  std::vector<AppPassword> out;
  const std::string sql = "SELECT " + std::string(k_app_columns) + " FROM app_passwords WHERE account_id = ? ORDER BY id DESC";
  auto ok = (*conn)->query(sql, {found->id}, [&](const Row& r) { out.push_back(app_password_from(r)); });
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  return out;
}

Status SqlStore::revoke_app_password(std::string_view username, std::int64_t id, const Event& event) {
  auto name = normalize_username(username);
  if (!name) {
    return tl::unexpected(name.error());
  }
  auto n = transaction([&](SqlConnection& c) -> Result<std::int64_t> {
    auto owner = account_id(c, *name);
    if (!owner) {
      return owner;
    }
    auto changed = c.exec("UPDATE app_passwords SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND account_id = ?",
                          {now_seconds(), id, *owner});
    if (!changed || *changed == 0) {
      return changed;
    }
    if (auto ok = write_event(c, event, *name); !ok) {
      return tl::unexpected(ok.error());
    }
    return changed;
  });
  if (!n) {
    return tl::unexpected(n.error());
  }
  if (*n == 0) {
    return fail(ErrorKind::not_found, "no app password " + std::to_string(id) + " for '" + *name + "'");
  }
  return {};
}

Result<std::optional<AppPassword>> SqlStore::find_app_password(std::int64_t account, std::string_view verifier) {
  std::optional<AppPassword> found;
  auto ok = read([&](SqlConnection& c) {
    // Causal: an app password made or revoked through another authd counts here at once.
    const std::string sql = std::string(c.causal()) + "SELECT " + std::string(k_app_columns) +
                            " FROM app_passwords WHERE verifier = ? AND account_id = ?";
    return c.query(sql, {verifier, account}, [&](const Row& r) { found = app_password_from(r); });
  });
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  return found;
}

Status SqlStore::app_password_used(std::int64_t id, std::string_view service, std::string_view ip, std::int64_t at) {
  auto n = transaction([&](SqlConnection& c) {
    return c.exec("UPDATE app_passwords SET last_used_at = ?, last_used_service = ?, last_used_ip = ? WHERE id = ?",
                  {at, service, ip, id});
  });
  return n ? Status{} : tl::unexpected(n.error());
}

Status SqlStore::set_main_password_services(std::string_view username,
                                            const std::optional<std::vector<std::string>>& services, const Event& event) {
  std::optional<std::string> list;
  if (services) {
    auto checked = service_list(*services, false);
    if (!checked) {
      return tl::unexpected(checked.error());
    }
    if (*checked) {
      list = join_services(**checked);
    }
  }
  return change_user(username, "UPDATE accounts SET main_password_services = ? WHERE username = ?", {opt(list)}, event);
}

Status SqlStore::load_app_password_counts(SqlConnection& c, std::vector<Account>& page) {
  if (page.empty()) {
    return {};
  }
  std::map<std::int64_t, Account*> by_id;
  for (Account& a : page) {
    by_id[a.id] = &a;
  }
  return c.query("SELECT account_id, COUNT(*) FROM app_passwords WHERE revoked_at IS NULL AND account_id >= ? AND "
                 "account_id <= ? GROUP BY account_id",
                 {page.front().id, page.back().id}, [&](const Row& r) {
                   if (auto it = by_id.find(to_int(r[0])); it != by_id.end()) {
                     it->second->active_app_passwords = to_int(r[1]);
                   }
                 });
}

} // namespace authd::store::detail
