// The credential store over any SqlConnection (SQLite or MariaDB): every statement prepared,
// every write that spans rows in one transaction, the upgrade write a compare-and-swap.
#include <random>
#include <thread>

#include "grant_rules.hpp"
#include "sql_store.hpp"

namespace authd::store::detail {

namespace {

// A lost race is run again after 1, 2, 4, 8, 16 ms (each with up to as much again at random, so
// racing instances do not meet again in step): under 62 ms in all, next to a bcrypt's 60 to 250.
constexpr int k_race_attempts = 6;

// A connection that broke this quickly was dead (its server gone: refused, reset), not slow: one
// more try on a fresh connection costs nothing. One that broke by timing out is not tried again,
// so a stuck database still answers within the store timeout.
constexpr auto k_dead_at_once = std::chrono::milliseconds(250);

bool dead_at_once(const SqlConnection& c, std::chrono::steady_clock::time_point began) {
  return c.broken() && std::chrono::steady_clock::now() - began < k_dead_at_once;
}

void back_off(int attempt) {
  thread_local std::minstd_rand jitter(std::random_device{}());
  const int base = 1 << attempt;
  std::this_thread::sleep_for(std::chrono::milliseconds(base + static_cast<int>(jitter() % static_cast<unsigned>(base))));
}

} // namespace

// One attempt of a transaction. After a lost race the connection first catches up with the
// cluster (a causal read: every write set certified before is applied here), so the body's
// conditions (the CAS's expected hash) are checked against the write that won. `lost`: the
// attempt failed by losing a race (read before the ROLLBACK, which is a statement of its own).
Result<std::int64_t> SqlStore::attempt(SqlConnection& c, const Body& body, bool catch_up, bool& begun, bool& lost) {
  if (catch_up && !c.causal().empty()) {
    if (auto ok = c.query(std::string(c.causal()) + "SELECT 1", {}, [](const Row&) {}); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  if (auto begin = c.exec(m_dialect.begin, {}); !begin) {
    return tl::unexpected(begin.error());
  }
  begun = true;
  auto result = body(c);
  if (result) {
    if (auto commit = c.exec("COMMIT", {}); !commit) {
      result = tl::unexpected(commit.error());
    }
  }
  if (!result) {
    lost = c.lost_race();
    (void)c.exec("ROLLBACK", {});
  }
  return result;
}

// Runs the body in a transaction; again (a bounded number of times) when it lost a race to a
// concurrent write, and once more on a fresh connection when the first was dead before it began.
Result<std::int64_t> SqlStore::transaction(const Body& body) {
  for (int n = 0;; ++n) {
    auto conn = m_pool->acquire();
    if (!conn) {
      return tl::unexpected(conn.error());
    }
    bool begun = false;
    bool lost = false;
    const auto began = std::chrono::steady_clock::now();
    auto result = attempt(**conn, body, n > 0, begun, lost);
    const bool dead_before = !begun && n == 0 && dead_at_once(**conn, began);
    if (result || n + 1 >= k_race_attempts || !(lost || dead_before)) {
      return result;
    }
    if (lost) {
      if (m_race_retried) {
        m_race_retried();
      }
      back_off(n);
    }
  }
}

Status SqlStore::read(const std::function<Status(SqlConnection&)>& body) {
  for (int n = 0;; ++n) {
    auto conn = m_pool->acquire();
    if (!conn) {
      return tl::unexpected(conn.error());
    }
    const auto began = std::chrono::steady_clock::now();
    auto ok = body(**conn);
    if (ok || n > 0 || !dead_at_once(**conn, began)) {
      return ok;
    }
  }
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
  std::optional<Account> found;
  auto ok = read([&](SqlConnection& c) -> Status {
    found.reset();
    // Causal: a password changed on another node is the one checked here.
    const std::string sql =
        std::string(c.causal()) + "SELECT " + std::string(k_account_columns) + " FROM accounts WHERE username = ?";
    auto got = c.query(sql, {std::string_view(*name)}, [&](const Row& r) { found = account_from(r); });
    if (got && found && !found->all_services) {
      got = c.query("SELECT service FROM grants WHERE account_id = ? ORDER BY service", {found->id},
                    [&](const Row& r) { found->services.push_back(r[0].value_or("")); });
    }
    return got;
  });
  if (!ok) {
    return tl::unexpected(ok.error());
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
  if (auto ok = check_new_username(*name); !ok) {
    return tl::unexpected(ok.error());
  }
  auto grants = new_account_grants(account.services);
  if (!grants) {
    return tl::unexpected(grants.error());
  }
  const std::int64_t now = now_seconds();
  return transaction([&](SqlConnection& c) -> Result<std::int64_t> {
    auto ins = c.exec("INSERT INTO accounts (username, password_hash, enabled, home, uid, gid, created_at, "
                      "password_changed_at, all_services) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      {std::string_view(*name), std::string_view(account.password_hash),
                       std::int64_t{account.enabled ? 1 : 0}, opt(account.home), opt(account.uid),
                       opt(account.gid), now, now, std::int64_t{grants->empty() ? 1 : 0}});
    if (!ins) {
      return ins.error().kind == ErrorKind::conflict ? fail(ErrorKind::conflict, "user '" + *name + "' exists")
                                                     : tl::unexpected(ins.error());
    }
    const std::int64_t id = c.last_insert_id();
    for (const std::string& s : *grants) {
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
    // The password is the same one: password_changed_at stays (the event records the rehash).
    auto n = c.exec("UPDATE accounts SET password_hash = ? WHERE id = ? AND password_hash = ?", {fresh, id, expected});
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
                             const Event& event, bool exact) {
  auto name = exact ? Result<std::string>(std::string(username)) : normalize_username(username);
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
  constexpr std::string_view sql = "DELETE FROM accounts WHERE username = ?";
  auto done = change_user(username, sql, {}, event);
  if (done || (done.error().kind != ErrorKind::not_found && done.error().kind != ErrorKind::invalid_input)) {
    return done;
  }
  // A name stored in a form that is not canonical (an older build, another tool): it can never
  // log in, and the operator can remove it by its exact bytes.
  auto exact = change_user(username, sql, {}, event, true);
  return exact ? exact : done;
}

Status SqlStore::grant(std::string_view username, std::string_view service, const Event& event) {
  return change_grants(username, service, event, true);
}

Status SqlStore::revoke(std::string_view username, std::string_view service, const Event& event) {
  return change_grants(username, service, event, false);
}

// Reads the account's grant state inside the transaction, applies the rules (grant_rules.hpp)
// and writes the new state when it changed: all_services, then the grants rows.
Status SqlStore::change_grants(std::string_view username, std::string_view service, const Event& event, bool give) {
  auto name = normalize_username(username);
  if (!name) {
    return tl::unexpected(name.error());
  }
  auto n = transaction([&](SqlConnection& c) -> Result<std::int64_t> {
    std::optional<std::int64_t> id;
    GrantState state;
    // The row stays locked to the commit: parallel grants and revokes apply one after the other.
    const std::string select = "SELECT id, all_services FROM accounts WHERE username = ?" + std::string(m_dialect.lock_rows);
    auto ok = c.query(select, {std::string_view(*name)}, [&](const Row& r) {
      id = to_int(r[0]);
      state.all_services = to_int(r[1]) != 0;
    });
    if (ok && id) {
      ok = c.query("SELECT service FROM grants WHERE account_id = ? ORDER BY service" + std::string(m_dialect.lock_rows), {*id},
                   [&](const Row& r) { state.services.push_back(r[0].value_or("")); });
    }
    if (!ok) {
      return tl::unexpected(ok.error());
    }
    if (!id) {
      return fail(ErrorKind::not_found, "no such user '" + *name + "'");
    }
    if (state.all_services) {
      state.services.clear(); // rows left by an older build are not grants of an every-service account
    }
    auto changed = change_grant_state(state, *name, service, give);
    if (!changed || !*changed) {
      return changed ? Result<std::int64_t>(0) : tl::unexpected(changed.error());
    }
    std::vector<std::pair<std::string_view, std::vector<SqlValue>>> writes = {
        {"UPDATE accounts SET all_services = ? WHERE id = ?", {std::int64_t{state.all_services ? 1 : 0}, *id}},
        {"DELETE FROM grants WHERE account_id = ?", {*id}}};
    for (const std::string& s : state.services) {
      writes.push_back({"INSERT INTO grants (account_id, service) VALUES (?, ?)", {*id, std::string_view(s)}});
    }
    for (const auto& [sql, params] : writes) {
      if (auto w = c.exec(sql, params); !w) {
        return w;
      }
    }
    if (auto ev = write_event(c, event, *name); !ev) {
      return tl::unexpected(ev.error());
    }
    return 1;
  });
  return n ? Status{} : tl::unexpected(n.error());
}

Status SqlStore::remember_source(std::int64_t id, std::string_view source, std::int64_t at, std::int64_t forget_before) {
  auto n = transaction([&](SqlConnection& c) -> Result<std::int64_t> {
    auto changed = c.exec("UPDATE familiar_sources SET last_success_at = ? WHERE account_id = ? AND source = ?",
                          {at, id, source});
    if (changed && *changed == 0) {
      changed = c.exec(std::string(m_dialect.insert_ignore) +
                           " INTO familiar_sources (account_id, source, last_success_at) VALUES (?, ?, ?)",
                       {id, source, at});
    }
    if (changed) {
      changed = c.exec("DELETE FROM familiar_sources WHERE account_id = ? AND last_success_at < ?", {id, forget_before});
    }
    return changed;
  });
  return n ? Status{} : tl::unexpected(n.error());
}

Result<bool> SqlStore::familiar(std::int64_t id, std::string_view source, std::int64_t since) {
  bool found = false;
  auto ok = read([&](SqlConnection& c) {
    // Causal: a source that logged in through another authd a moment ago is familiar here.
    return c.query(std::string(c.causal()) +
                       "SELECT 1 FROM familiar_sources WHERE account_id = ? AND source = ? AND last_success_at >= ?",
                   {id, source, since}, [&](const Row&) { found = true; });
  });
  if (!ok) {
    return tl::unexpected(ok.error());
  }
  return found;
}

Status SqlStore::load_grants(SqlConnection& c, std::vector<Account>& page) {
  if (page.empty()) {
    return {};
  }
  std::map<std::int64_t, Account*> by_id;
  for (Account& a : page) {
    by_id[a.id] = &a;
  }
  return c.query("SELECT account_id, service FROM grants WHERE account_id >= ? AND account_id <= ? ORDER BY account_id, service",
                 {page.front().id, page.back().id}, [&](const Row& r) {
                   if (auto it = by_id.find(to_int(r[0])); it != by_id.end() && !it->second->all_services) {
                     it->second->services.push_back(r[1].value_or(""));
                   }
                 });
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
      if (ok) {
        ok = load_grants(**conn, page);
      }
      if (ok) {
        ok = load_app_password_counts(**conn, page);
      }
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

std::unique_ptr<CredentialStore> make_sql_store(std::unique_ptr<ConnectionPool> pool, const Dialect& dialect,
                                                std::function<void()> race_retried) {
  return std::make_unique<SqlStore>(std::move(pool), dialect, std::move(race_retried));
}

} // namespace authd::store::detail
