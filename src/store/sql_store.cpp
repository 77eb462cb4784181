// The credential store over any SqlConnection (SQLite or MariaDB): every statement prepared,
// every write that spans rows in one transaction, the upgrade write a compare-and-swap.
#include <set>

#include "authd/store/credential_store.hpp"
#include "sql.hpp"

namespace authd::store::detail {
namespace {

constexpr std::string_view k_account_columns =
    "id, username, password_hash, enabled, home, uid, gid, created_at, password_changed_at, "
    "last_login_at, last_login_service";
constexpr std::size_t k_page = 1000;

std::int64_t to_int(const std::optional<std::string>& v) { return v ? std::stoll(*v) : 0; }

Account account_from(const Row& r) {
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
  return a;
}

SqlValue opt(const std::optional<std::string>& v) {
  return v ? SqlValue(std::string_view(*v)) : SqlValue(std::monostate{});
}
SqlValue opt(const std::optional<std::int64_t>& v) { return v ? SqlValue(*v) : SqlValue(std::monostate{}); }

class SqlStore final : public CredentialStore {
public:
  SqlStore(std::unique_ptr<ConnectionPool> pool, const Dialect& dialect)
      : m_pool(std::move(pool)), m_dialect(dialect) {}

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
  Status record_login(std::int64_t id, std::string_view service, std::int64_t at) override;
  Status for_each(const std::function<bool(const Account&)>& visit) override;
  Result<std::vector<Event>> events(std::string_view username, std::size_t limit) override;
  Status import(const std::function<bool(ImportRecord&)>& next, bool update, const std::string& actor,
                const std::function<void(const ImportRecord&, ImportOutcome)>& done) override;

private:
  using Body = std::function<Result<std::int64_t>(SqlConnection&)>;
  // Runs body in a transaction on one connection; rolls back on error.
  Result<std::int64_t> transaction(const Body& body);
  Result<int> read_version(SqlConnection& conn);
  static Status write_event(SqlConnection& conn, const Event& event, std::string_view username);
  // UPDATE/DELETE by username plus its event; ErrorKind::not_found when no row matched.
  Status change_user(std::string_view username, std::string_view sql, std::vector<SqlValue> params,
                     const Event& event);
  Result<std::int64_t> import_batch(SqlConnection& c, std::vector<ImportRecord>& batch, bool update,
                                    const std::string& actor, std::int64_t now,
                                    const std::function<void(const ImportRecord&, ImportOutcome)>& done);

  std::unique_ptr<ConnectionPool> m_pool;
  const Dialect& m_dialect;
};

Result<std::int64_t> SqlStore::transaction(const Body& body) {
  auto conn = m_pool->acquire();
  if (!conn) {
    return tl::unexpected(conn.error());
  }
  if (auto begin = (*conn)->exec(m_dialect.begin, {}); !begin) {
    return tl::unexpected(begin.error());
  }
  auto result = body(**conn);
  if (!result) {
    (void)(*conn)->exec("ROLLBACK", {});
    return result;
  }
  if (auto commit = (*conn)->exec("COMMIT", {}); !commit) {
    (void)(*conn)->exec("ROLLBACK", {});
    return tl::unexpected(commit.error());
  }
  return result;
}

Result<int> SqlStore::read_version(SqlConnection& conn) {
  int version = -1;
  auto ok = conn.query("SELECT COALESCE(MAX(version), 0) FROM schema_version", {},
                       [&](const Row& r) { version = static_cast<int>(to_int(r[0])); });
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  return version;
}

Result<int> SqlStore::migrate() {
  auto conn = m_pool->acquire();
  if (!conn) {
    return tl::unexpected(conn.error());
  }
  SqlConnection& c = **conn;
  if (auto ok = c.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", {}); !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = c.query(m_dialect.migrate_lock, {}, [](const Row&) {}); !ok) {
    return tl::unexpected(ok.error());
  }
  auto run = [&]() -> Result<int> {
    auto version = read_version(c);
    if (!version) {
      return version;
    }
    const auto& all = m_dialect.migrations();
    if (*version > all.back().version) {
      return fail(ErrorKind::permanent, "database schema version " + std::to_string(*version) +
                                            " is newer than this authd knows (" +
                                            std::to_string(all.back().version) + ")");
    }
    for (const Migration& m : all) {
      if (m.version <= *version) {
        continue;
      }
      for (const std::string& stmt : split_statements(m.sql)) {
        if (auto ok = c.exec(stmt, {}); !ok) {
          return fail(ok.error().kind, std::string(m.name) + ": " + ok.error().message);
        }
      }
      if (auto ok = c.exec("INSERT INTO schema_version (version) VALUES (?)", {std::int64_t{m.version}}); !ok) {
        return tl::unexpected(ok.error());
      }
      *version = m.version;
    }
    return version;
  };
  auto result = run();
  (void)c.query(result ? m_dialect.migrate_unlock : m_dialect.migrate_abort, {}, [](const Row&) {});
  return result;
}

Result<int> SqlStore::check_schema() {
  auto conn = m_pool->acquire();
  if (!conn) {
    return tl::unexpected(conn.error());
  }
  auto version = read_version(**conn);
  const int known = m_dialect.migrations().back().version;
  if (!version) {
    if (version.error().kind == ErrorKind::temporary) {
      return version;
    }
    return fail(ErrorKind::permanent, "no authd schema in this database: run 'authctl db migrate'");
  }
  if (*version != known) {
    return fail(ErrorKind::permanent, "database schema version " + std::to_string(*version) + ", this build knows " +
                                          std::to_string(known) +
                                          (*version < known ? ": run 'authctl db migrate'" : ": upgrade authd"));
  }
  return version;
}

Status SqlStore::ping() {
  auto conn = m_pool->acquire();
  if (!conn) {
    return tl::unexpected(conn.error());
  }
  return (*conn)->query("SELECT 1", {}, [](const Row&) {});
}

Result<std::optional<Account>> SqlStore::find(std::string_view username) {
  auto name = normalize_username(username);
  if (!name) {
    return std::optional<Account>{}; // cannot exist
  }
  auto conn = m_pool->acquire();
  if (!conn) {
    return tl::unexpected(conn.error());
  }
  std::optional<Account> found;
  const std::string sql = "SELECT " + std::string(k_account_columns) + " FROM accounts WHERE username = ?";
  if (auto ok = (*conn)->query(sql, {std::string_view(*name)}, [&](const Row& r) { found = account_from(r); }); !ok) {
    return tl::unexpected(ok.error());
  }
  if (found) {
    auto ok = (*conn)->query("SELECT service FROM grants WHERE account_id = ? ORDER BY service", {found->id},
                             [&](const Row& r) { found->services.push_back(r[0].value_or("")); });
    if (!ok) {
      return tl::unexpected(ok.error());
    }
  }
  return found;
}

Status SqlStore::write_event(SqlConnection& conn, const Event& e, std::string_view username) {
  auto ok = conn.exec("INSERT INTO events (at, username, kind, actor, from_scheme, to_scheme, detail) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)",
                      {e.at != 0 ? e.at : now_seconds(), username, std::string_view(e.kind), std::string_view(e.actor),
                       std::string_view(e.from_scheme), std::string_view(e.to_scheme), std::string_view(e.detail)});
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  return {};
}

Result<std::int64_t> SqlStore::create(const NewAccount& account, const Event& event) {
  auto name = normalize_username(account.username);
  if (!name) {
    return tl::unexpected(name.error());
  }
  for (const std::string& s : account.services) {
    if (auto ok = check_service(s); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  const std::int64_t now = now_seconds();
  return transaction([&](SqlConnection& c) -> Result<std::int64_t> {
    auto ins = c.exec("INSERT INTO accounts (username, password_hash, enabled, home, uid, gid, created_at, "
                      "password_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      {std::string_view(*name), std::string_view(account.password_hash),
                       std::int64_t{account.enabled ? 1 : 0}, opt(account.home), opt(account.uid),
                       opt(account.gid), now, now});
    if (!ins) {
      return ins.error().kind == ErrorKind::conflict ? fail(ErrorKind::conflict, "user '" + *name + "' exists")
                                                     : tl::unexpected(ins.error());
    }
    const std::int64_t id = c.last_insert_id();
    for (const std::string& s : std::set<std::string>(account.services.begin(), account.services.end())) {
      if (auto ok = c.exec("INSERT INTO grants (account_id, service) VALUES (?, ?)", {id, std::string_view(s)}); !ok) {
        return tl::unexpected(ok.error());
      }
    }
    if (auto ok = write_event(c, event, *name); !ok) {
      return tl::unexpected(ok.error());
    }
    return id;
  });
}

Result<bool> SqlStore::swap_hash(std::int64_t id, std::string_view expected, std::string_view fresh,
                                 const Event& event) {
  auto won = transaction([&](SqlConnection& c) -> Result<std::int64_t> {
    auto n = c.exec("UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE id = ? AND password_hash = ?",
                    {fresh, now_seconds(), id, expected});
    if (!n || *n == 0) {
      return n;
    }
    if (auto ok = write_event(c, event, event.username); !ok) {
      return tl::unexpected(ok.error());
    }
    return n;
  });
  if (!won) {
    return tl::unexpected(won.error());
  }
  return *won == 1;
}

Status SqlStore::change_user(std::string_view username, std::string_view sql, std::vector<SqlValue> params,
                             const Event& event) {
  auto name = normalize_username(username);
  if (!name) {
    return tl::unexpected(name.error());
  }
  params.emplace_back(std::string_view(*name));
  auto n = transaction([&](SqlConnection& c) -> Result<std::int64_t> {
    auto changed = c.exec(sql, params);
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
    return fail(ErrorKind::not_found, "no such user '" + *name + "'");
  }
  return {};
}

Status SqlStore::set_hash(std::string_view username, std::string_view hash, const Event& event) {
  return change_user(username, "UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE username = ?",
                     {hash, now_seconds()}, event);
}

Status SqlStore::set_enabled(std::string_view username, bool enabled, const Event& event) {
  return change_user(username, "UPDATE accounts SET enabled = ? WHERE username = ?", {std::int64_t{enabled ? 1 : 0}},
                     event);
}

Status SqlStore::remove(std::string_view username, const Event& event) {
  return change_user(username, "DELETE FROM accounts WHERE username = ?", {}, event);
}

Status SqlStore::grant(std::string_view username, std::string_view service, const Event& event) {
  if (auto ok = check_service(service); !ok) {
    return ok;
  }
  auto found = find(username);
  if (!found) {
    return tl::unexpected(found.error());
  }
  if (!*found) {
    return fail(ErrorKind::not_found, "no such user '" + std::string(username) + "'");
  }
  const std::string sql = std::string(m_dialect.insert_ignore) + " INTO grants (account_id, service) VALUES (?, ?)";
  auto n = transaction([&](SqlConnection& c) -> Result<std::int64_t> {
    auto ins = c.exec(sql, {(*found)->id, service});
    if (ins && *ins > 0) {
      if (auto ok = write_event(c, event, (*found)->username); !ok) {
        return tl::unexpected(ok.error());
      }
    }
    return ins;
  });
  return n ? Status{} : tl::unexpected(n.error());
}

Status SqlStore::revoke(std::string_view username, std::string_view service, const Event& event) {
  auto name = normalize_username(username);
  if (!name) {
    return tl::unexpected(name.error());
  }
  auto n = transaction([&](SqlConnection& c) -> Result<std::int64_t> {
    auto del = c.exec("DELETE FROM grants WHERE service = ? AND account_id = (SELECT id FROM accounts WHERE username = ?)",
                      {service, std::string_view(*name)});
    if (del && *del > 0) {
      if (auto ok = write_event(c, event, *name); !ok) {
        return tl::unexpected(ok.error());
      }
    }
    return del;
  });
  if (!n) {
    return tl::unexpected(n.error());
  }
  return *n == 0 ? fail(ErrorKind::not_found, "'" + *name + "' has no grant for '" + std::string(service) + "'")
                 : Status{};
}

Status SqlStore::record_login(std::int64_t id, std::string_view service, std::int64_t at) {
  auto conn = m_pool->acquire();
  if (!conn) {
    return tl::unexpected(conn.error());
  }
  auto n = (*conn)->exec("UPDATE accounts SET last_login_at = ?, last_login_service = ? WHERE id = ?", {at, service, id});
  return n ? Status{} : tl::unexpected(n.error());
}

Status SqlStore::for_each(const std::function<bool(const Account&)>& visit) {
  const std::string sql = "SELECT " + std::string(k_account_columns) + " FROM accounts WHERE id > ? ORDER BY id LIMIT " +
                          std::to_string(k_page);
  std::int64_t after = 0;
  for (;;) {
    std::vector<Account> page;
    {
      auto conn = m_pool->acquire(); // released before visiting: the callback may use the store
      if (!conn) {
        return tl::unexpected(conn.error());
      }
      auto ok = (*conn)->query(sql, {after}, [&](const Row& r) { page.push_back(account_from(r)); });
      if (!ok) {
        return ok;
      }
    }
    for (const Account& a : page) {
      if (!visit(a)) {
        return {};
      }
    }
    if (page.size() < k_page) {
      return {};
    }
    after = page.back().id;
  }
}

Result<std::vector<Event>> SqlStore::events(std::string_view username, std::size_t limit) {
  auto conn = m_pool->acquire();
  if (!conn) {
    return tl::unexpected(conn.error());
  }
  std::vector<Event> out;
  const std::string cols = "SELECT at, username, kind, actor, from_scheme, to_scheme, detail FROM events ";
  const std::string tail = "ORDER BY id DESC LIMIT " + std::to_string(limit);
  auto add = [&](const Row& r) {
    out.push_back({to_int(r[0]), r[1].value_or(""), r[2].value_or(""), r[3].value_or(""), r[4].value_or(""),
                   r[5].value_or(""), r[6].value_or("")});
  };
  Status ok;
  if (username.empty()) {
    ok = (*conn)->query(cols + tail, {}, add);
  } else {
    const auto name = normalize_username(username);
    const std::string key = name ? *name : std::string(username);
    ok = (*conn)->query(cols + "WHERE username = ? " + tail, {std::string_view(key)}, add);
  }
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  return out;
}

// "(?, ?, …), (?, ?, …)" for `rows` rows of `cols` parameters.
std::string placeholders(std::size_t rows, std::size_t cols) {
  std::string one = "(";
  for (std::size_t i = 0; i < cols; ++i) {
    one += i == 0 ? "?" : ", ?";
  }
  one += ")";
  std::string out;
  for (std::size_t r = 0; r < rows; ++r) {
    out += (r == 0 ? "" : ", ") + one;
  }
  return out;
}

// One batch: which names exist (one SELECT), the new accounts (one multi-row INSERT), updates
// (per row, rare), the events (one multi-row INSERT). A few round trips per 500 records instead
// of two per record.
Result<std::int64_t> SqlStore::import_batch(SqlConnection& c, std::vector<ImportRecord>& batch, bool update,
                                            const std::string& actor, std::int64_t now,
                                            const std::function<void(const ImportRecord&, ImportOutcome)>& done) {
  std::vector<SqlValue> names;
  for (const ImportRecord& r : batch) {
    names.emplace_back(std::string_view(r.account.username));
  }
  std::set<std::string> existing;
  auto found = c.query("SELECT username FROM accounts WHERE username IN " + placeholders(1, names.size()), names,
                       [&](const Row& r) { existing.insert(r[0].value_or("")); });
  if (!found) {
    return tl::unexpected(found.error());
  }
  std::vector<ImportOutcome> outcomes;
  std::vector<SqlValue> inserts, events;
  for (const ImportRecord& r : batch) {
    const NewAccount& a = r.account;
    const bool exists = !existing.insert(a.username).second; // also catches a name twice in the file
    ImportOutcome outcome = exists ? (update ? ImportOutcome::updated : ImportOutcome::skipped) : ImportOutcome::imported;
    if (outcome == ImportOutcome::imported) {
      inserts.insert(inserts.end(), {std::string_view(a.username), std::string_view(a.password_hash),
                                     std::int64_t{a.enabled ? 1 : 0}, opt(a.home), opt(a.uid), opt(a.gid), now, now});
    } else if (outcome == ImportOutcome::updated) {
      auto up = c.exec("UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE username = ?",
                       {std::string_view(a.password_hash), now, std::string_view(a.username)});
      if (!up) {
        return tl::unexpected(up.error());
      }
    }
    if (outcome != ImportOutcome::skipped) {
      events.insert(events.end(), {now, std::string_view(a.username), std::string_view("import"), std::string_view(actor),
                                   std::string_view(""), std::string_view(r.scheme), std::string_view("")});
    }
    outcomes.push_back(outcome);
  }
  if (!inserts.empty()) {
    auto ins = c.exec("INSERT INTO accounts (username, password_hash, enabled, home, uid, gid, created_at, "
                      "password_changed_at) VALUES " + placeholders(inserts.size() / 8, 8), inserts);
    if (!ins) {
      return tl::unexpected(ins.error());
    }
  }
  if (!events.empty()) {
    auto ev = c.exec("INSERT INTO events (at, username, kind, actor, from_scheme, to_scheme, detail) VALUES " +
                     placeholders(events.size() / 7, 7), events);
    if (!ev) {
      return tl::unexpected(ev.error());
    }
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    done(batch[i], outcomes[i]);
  }
  return 0;
}

Status SqlStore::import(const std::function<bool(ImportRecord&)>& next, bool update, const std::string& actor,
                        const std::function<void(const ImportRecord&, ImportOutcome)>& done) {
  constexpr std::size_t k_batch = 500;
  const std::int64_t now = now_seconds();
  auto result = transaction([&](SqlConnection& c) -> Result<std::int64_t> {
    std::vector<ImportRecord> batch;
    for (bool more = true; more;) {
      batch.clear();
      ImportRecord rec;
      while (batch.size() < k_batch && (more = next(rec))) {
        auto name = normalize_username(rec.account.username);
        if (!name) {
          return tl::unexpected(name.error()); // callers validate first; a bad name here is a bug
        }
        rec.account.username = *name;
        batch.push_back(std::move(rec));
        rec = ImportRecord{};
      }
      if (batch.empty()) {
        break;
      }
      if (auto ok = import_batch(c, batch, update, actor, now, done); !ok) {
        return ok;
      }
    }
    return 0;
  });
  return result ? Status{} : tl::unexpected(result.error());
}

} // namespace

std::unique_ptr<CredentialStore> make_sql_store(std::unique_ptr<ConnectionPool> pool, const Dialect& dialect) {
  return std::make_unique<SqlStore>(std::move(pool), dialect);
}

} // namespace authd::store::detail
