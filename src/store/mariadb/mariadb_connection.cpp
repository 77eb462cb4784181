// MariaDB driver on Connector/C: prepared statements only, RAII handles, connect/read/write
// timeouts and an InnoDB lock-wait bound from the store timeout, CLIENT_FOUND_ROWS so an UPDATE
// reports matched rows. Any client-side error (server gone, lost, timed out) marks the connection
// broken, so the pool reconnects on the next request, and is a temporary failure. A deadlock (a
// Galera certification failure too) is a lost race: the store runs the transaction again.
// Several hosts: MariadbConnector (failover, Galera's synced state; mariadb_hosts.cpp).
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "mariadb_hosts.hpp"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "../sql.hpp"

namespace authd::store::detail {
namespace {

using MysqlHandle = std::unique_ptr<MYSQL, decltype(&mysql_close)>;
using StmtHandle = std::unique_ptr<MYSQL_STMT, decltype(&mysql_stmt_close)>;

bool client_side(unsigned int code) { return code >= CR_MIN_ERROR && code <= CR_MAX_ERROR; }

ErrorKind kind_of(unsigned int code) {
  if (client_side(code)) {
    return ErrorKind::temporary; // connection refused, gone, lost, timeout
  }
  switch (code) {
  case ER_DUP_ENTRY: return ErrorKind::conflict;
  case ER_UNKNOWN_COM_ERROR:  // Galera: "WSREP has not yet prepared node for application use"
  case ER_ERROR_DURING_COMMIT: // Galera: a commit the provider could not replicate
  case ER_LOCK_WAIT_TIMEOUT:
  case ER_LOCK_DEADLOCK:
  case ER_CON_COUNT_ERROR:
  case ER_SERVER_SHUTDOWN:
  case ER_QUERY_INTERRUPTED:
  case ER_OUT_OF_RESOURCES:
  case ER_STATEMENT_TIMEOUT:
  case ER_OPTION_PREVENTS_STATEMENT: // read-only server
    return ErrorKind::temporary;
  default: return ErrorKind::permanent;
  }
}

class MariadbConnection final : public SqlConnection {
public:
  MariadbConnection(MysqlHandle db, HostLease host) : m_db(std::move(db)), m_host(std::move(host)) {}

  Result<std::int64_t> exec(std::string_view sql, const std::vector<SqlValue>& params) override {
    auto st = run(sql, params);
    if (!st) {
      return tl::unexpected(st.error());
    }
    const auto affected = static_cast<std::int64_t>(mysql_stmt_affected_rows(*st));
    if (mysql_stmt_field_count(*st) > 0) {
      mysql_stmt_free_result(*st);
    }
    return affected < 0 ? 0 : affected;
  }

  Status query(std::string_view sql, const std::vector<SqlValue>& params,
               const std::function<void(const Row&)>& row) override {
    auto st = run(sql, params);
    if (!st) {
      return tl::unexpected(st.error());
    }
    MYSQL_STMT* s = *st;
    const unsigned int n = mysql_stmt_field_count(s);
    std::vector<MYSQL_BIND> binds(n);
    std::vector<std::vector<char>> bufs(n, std::vector<char>(256));
    std::vector<unsigned long> lens(n);
    std::vector<my_bool> nulls(n);
    for (unsigned int i = 0; i < n; ++i) {
      std::memset(&binds[i], 0, sizeof(MYSQL_BIND));
      binds[i].buffer_type = MYSQL_TYPE_STRING;
      binds[i].buffer = bufs[i].data();
      binds[i].buffer_length = bufs[i].size();
      binds[i].length = &lens[i];
      binds[i].is_null = &nulls[i];
    }
    if ((n > 0 && mysql_stmt_bind_result(s, binds.data()) != 0) || mysql_stmt_store_result(s) != 0) {
      return error(s);
    }
    Row r(n);
    int rc = 0;
    while ((rc = mysql_stmt_fetch(s)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
      for (unsigned int i = 0; i < n; ++i) {
        if (nulls[i] != 0) {
          r[i].reset();
          continue;
        }
        if (lens[i] > bufs[i].size()) { // truncated: fetch the whole column
          std::vector<char> big(lens[i]);
          MYSQL_BIND b{};
          b.buffer_type = MYSQL_TYPE_STRING;
          b.buffer = big.data();
          b.buffer_length = big.size();
          mysql_stmt_fetch_column(s, &b, i, 0);
          r[i] = std::string(big.data(), big.size());
        } else {
          r[i] = std::string(bufs[i].data(), lens[i]);
        }
      }
      row(r);
    }
    mysql_stmt_free_result(s);
    if (rc != MYSQL_NO_DATA) {
      return error(s);
    }
    return {};
  }

  std::int64_t last_insert_id() override { return static_cast<std::int64_t>(mysql_insert_id(m_db.get())); }
  bool broken() const override { return m_broken; }
  bool lost_race() const override { return m_lost_race; }
  std::string_view causal() const override { return m_host.galera ? "SET STATEMENT wsrep_sync_wait = 1 FOR " : ""; }
  bool usable() override {
    if (m_broken || !m_host.current()) {
      return false;
    }
    if (!m_host.check_due()) {
      return true;
    }
    auto node = node_state();
    const bool ok = node && (node->synced() || (m_host.degraded && node->ready_only()));
    m_host.checked(ok);
    return ok;
  }
  bool retire() const override { return m_host.retire(); }

  // Right after connecting: a Galera node (wsrep_on) is used only when synced, or with
  // allow_degraded when at least ready (`ready` tells the caller it was).
  Status identify(bool allow_degraded, bool& ready) {
    std::optional<std::string> on;
    if (auto ok = query("SELECT @@wsrep_on", {}, [&](const Row& r) { on = r[0]; }); !ok && m_broken) {
      return ok; // (a server built without wsrep has no such variable: one plain MariaDB)
    }
    m_host.galera = on == "1" || on == "ON";
    if (!m_host.galera) {
      return {};
    }
    auto node = node_state();
    if (!node) {
      return tl::unexpected(node.error());
    }
    ready = node->ready_only();
    m_host.degraded = allow_degraded && ready;
    const bool ok = node->synced() || m_host.degraded;
    if (!ok) { // counted as this host's failure once, by the connector that asked for the connection
      return fail(ErrorKind::temporary, "mariadb: " + m_host.name() + " is not a synced Galera node (wsrep_ready " +
                                            node->ready + ", wsrep_local_state " + node->state + ")");
    }
    m_host.checked(true);
    return {};
  }

private:
  struct NodeState {
    std::string ready, state;
    // Synced: in the primary component, not joining, not a donor.
    bool synced() const { return ready == "ON" && state == "4"; }
    // A donor or a desynced node: in the primary component, its data consistent, only not synced.
    bool ready_only() const { return ready == "ON" && state == "2"; }
  };
  Result<NodeState> node_state() {
    NodeState node;
    auto ok = query("SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                    "WHERE VARIABLE_NAME IN ('WSREP_READY', 'WSREP_LOCAL_STATE')",
                    {}, [&](const Row& r) { (r[0] == "WSREP_READY" ? node.ready : node.state) = r[1].value_or(""); });
    if (!ok) {
      return tl::unexpected(ok.error());
    }
    return node;
  }

  tl::unexpected<Error> error(MYSQL_STMT* s) {
    const unsigned int code = mysql_stmt_errno(s);
    const ErrorKind kind = kind_of(code);
    m_lost_race = code == ER_LOCK_DEADLOCK;
    if (kind == ErrorKind::temporary && !m_lost_race) {
      m_broken = true;
      if (client_side(code) || code == ER_UNKNOWN_COM_ERROR) {
        m_host.failed(); // the other connections to this host are not handed out again
      }
    }
    return fail(kind, "mariadb: " + std::string(mysql_stmt_error(s)) + " (" + std::to_string(code) + ")");
  }

  Result<MYSQL_STMT*> run(std::string_view sql, const std::vector<SqlValue>& params) {
    m_lost_race = false; // about the latest statement only
    auto it = m_cache.find(std::string(sql));
    if (it == m_cache.end()) {
      StmtHandle st(mysql_stmt_init(m_db.get()), &mysql_stmt_close);
      if (!st) {
        m_broken = true;
        return fail(ErrorKind::temporary, "mariadb: out of memory");
      }
      if (mysql_stmt_prepare(st.get(), sql.data(), sql.size()) != 0) {
        return error(st.get());
      }
      it = m_cache.emplace(std::string(sql), std::move(st)).first;
    }
    MYSQL_STMT* s = it->second.get();
    std::vector<MYSQL_BIND> binds(params.size());
    std::vector<long long> ints(params.size());
    std::vector<unsigned long> lens(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      std::memset(&binds[i], 0, sizeof(MYSQL_BIND));
      if (const auto* v = std::get_if<std::int64_t>(&params[i])) {
        ints[i] = *v;
        binds[i].buffer_type = MYSQL_TYPE_LONGLONG;
        binds[i].buffer = &ints[i];
      } else if (const auto* t = std::get_if<std::string_view>(&params[i])) {
        lens[i] = static_cast<unsigned long>(t->size());
        binds[i].buffer_type = MYSQL_TYPE_STRING;
        binds[i].buffer = const_cast<char*>(t->data());
        binds[i].buffer_length = lens[i];
        binds[i].length = &lens[i];
      } else {
        binds[i].buffer_type = MYSQL_TYPE_NULL;
      }
    }
    if ((!params.empty() && mysql_stmt_bind_param(s, binds.data()) != 0) || mysql_stmt_execute(s) != 0) {
      auto err = error(s);
      if (m_broken) {
        m_cache.clear();
      }
      return err;
    }
    return s;
  }

  MysqlHandle m_db;
  HostLease m_host;
  std::unordered_map<std::string, StmtHandle> m_cache;
  bool m_broken = false;
  bool m_lost_race = false;
};

} // namespace

const Dialect k_mariadb = {"mariadb", "START TRANSACTION", "INSERT IGNORE",
                           "SELECT GET_LOCK('authd_migrate', 30)", "SELECT RELEASE_LOCK('authd_migrate')",
                           "SELECT RELEASE_LOCK('authd_migrate')", " FOR UPDATE", mariadb_migrations};

Result<std::unique_ptr<SqlConnection>> open_mariadb_host(const MariadbTarget& t, const MariadbHost& h,
                                                         HostTimeouts timeouts, HostLease host, bool allow_degraded,
                                                         bool& ready) {
  static std::once_flag init;
  std::call_once(init, [] { mysql_library_init(0, nullptr, nullptr); });
  MysqlHandle db(mysql_init(nullptr), &mysql_close);
  if (!db) {
    return fail(ErrorKind::temporary, "mariadb: out of memory");
  }
  const unsigned int secs = static_cast<unsigned int>((timeouts.io_ms + 999) / 1000);
  const unsigned int connect_secs = static_cast<unsigned int>((timeouts.connect_ms + 999) / 1000);
  const my_bool no = 0;
  mysql_options(db.get(), MYSQL_OPT_CONNECT_TIMEOUT, &connect_secs);
  mysql_options(db.get(), MYSQL_OPT_READ_TIMEOUT, &secs);
  mysql_options(db.get(), MYSQL_OPT_WRITE_TIMEOUT, &secs);
  mysql_options(db.get(), MYSQL_OPT_RECONNECT, &no); // the pool reconnects, with fresh statements
  mysql_options(db.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  const std::string init_sql = "SET SESSION innodb_lock_wait_timeout = " + std::to_string(secs);
  mysql_options(db.get(), MYSQL_INIT_COMMAND, init_sql.c_str());
  if (mysql_real_connect(db.get(), h.host.c_str(), t.user.c_str(), t.password.c_str(), t.database.c_str(), h.port,
                         t.socket.empty() ? nullptr : t.socket.c_str(), CLIENT_FOUND_ROWS) == nullptr) {
    const unsigned int code = mysql_errno(db.get());
    // access denied / unknown database will not heal by retrying
    const ErrorKind kind = (code == ER_ACCESS_DENIED_ERROR || code == ER_BAD_DB_ERROR || code == ER_DBACCESS_DENIED_ERROR)
                               ? ErrorKind::permanent : ErrorKind::temporary;
    return fail(kind, "mariadb: cannot connect to " + host.name() + ": " + std::string(mysql_error(db.get())));
  }
  auto conn = std::make_unique<MariadbConnection>(std::move(db), std::move(host));
  if (auto ok = conn->identify(allow_degraded, ready); !ok) {
    return tl::unexpected(ok.error());
  }
  return std::unique_ptr<SqlConnection>(std::move(conn));
}

} // namespace authd::store::detail
