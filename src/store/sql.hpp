#pragma once
// Private to the store module: the small SQL connection interface both drivers implement, so
// the credential-store logic (sql_store.cpp) is written once. Parameters are always bound
// (prepared statements only); values travel as text, integers or NULL.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "authd/util/result.hpp"
#include "migrations.hpp"

namespace authd::store::detail {

using SqlValue = std::variant<std::monostate, std::int64_t, std::string_view>;
using Row = std::vector<std::optional<std::string>>;

class SqlConnection {
public:
  virtual ~SqlConnection() = default;
  // Executes one statement; returns the number of rows it matched/changed.
  virtual Result<std::int64_t> exec(std::string_view sql, const std::vector<SqlValue>& params) = 0;
  // Runs a query, calling `row` for each result row.
  virtual Status query(std::string_view sql, const std::vector<SqlValue>& params,
                       const std::function<void(const Row&)>& row) = 0;
  virtual std::int64_t last_insert_id() = 0;
  // True after an error that leaves the connection unusable: the pool drops it.
  virtual bool broken() const = 0;
  // True when the latest statement failed because its transaction lost a race with a concurrent
  // one (a deadlock, or a Galera certification failure at COMMIT): it was rolled back and may be
  // run again.
  virtual bool lost_race() const { return false; }
  // The prefix that makes one SELECT see every write committed anywhere in the cluster before it
  // started (Galera's causality wait); "" where every read already does (SQLite, one MariaDB).
  virtual std::string_view causal() const { return {}; }
  // Whether the pool may hand this connection out now: false for one whose server left the
  // cluster's synced state or whose host failed since (the pool drops it and takes another).
  virtual bool usable() { return !broken(); }
  // Whether the pool closes it when its lease ends although it works: it went to a fallback
  // host, and the connection made in its place tries the preferred host again.
  virtual bool retire() const { return false; }
};

struct Dialect {
  std::string_view name;
  std::string_view begin;         // "BEGIN IMMEDIATE" / "START TRANSACTION"
  std::string_view insert_ignore; // "INSERT OR IGNORE" / "INSERT IGNORE"
  std::string_view migrate_lock;   // serialises concurrent migrations (authd + authctl)
  std::string_view migrate_unlock;
  std::string_view migrate_abort;  // after a failed migration
  std::string_view lock_rows;      // " FOR UPDATE" / "" (SQLite's BEGIN IMMEDIATE locks the database)
  const std::vector<Migration>& (*migrations)();
};

// A fixed-size pool of connections created on demand by `connect`. acquire() waits at most
// timeout for a free slot; a broken connection is dropped when its lease ends.
class ConnectionPool {
public:
  using Connect = std::function<Result<std::unique_ptr<SqlConnection>>()>;
  ConnectionPool(Connect connect, int size, std::chrono::milliseconds timeout);

  class Lease {
  public:
    Lease(ConnectionPool* pool, std::unique_ptr<SqlConnection> conn) : m_pool(pool), m_conn(std::move(conn)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    SqlConnection& operator*() const { return *m_conn; }
    SqlConnection* operator->() const { return m_conn.get(); }

  private:
    ConnectionPool* m_pool;
    std::unique_ptr<SqlConnection> m_conn;
  };

  Result<Lease> acquire();

private:
  // An idle connection the pool may hand out, or null (none idle); drops the unusable ones.
  std::unique_ptr<SqlConnection> take_idle(std::unique_lock<std::mutex>& lock);
  void release(std::unique_ptr<SqlConnection> conn);

  Connect m_connect;
  int m_size;
  std::chrono::milliseconds m_timeout;
  std::mutex m_mutex;
  std::condition_variable m_freed;
  std::vector<std::unique_ptr<SqlConnection>> m_idle;
  int m_out = 0; // connections leased or being opened
};

} // namespace authd::store::detail

namespace authd::store {
class CredentialStore;
}

namespace authd::store::detail {

// The CredentialStore over a pool and a dialect; race_retried hears of each transaction run again
// after a lost race.
std::unique_ptr<CredentialStore> make_sql_store(std::unique_ptr<ConnectionPool> pool, const Dialect& dialect,
                                                std::function<void()> race_retried = {});

// Driver entry points (one file each).
Result<std::unique_ptr<SqlConnection>> open_sqlite_connection(const std::string& path, int timeout_ms);
extern const Dialect k_sqlite;

struct MariadbHost {
  std::string host;
  unsigned port = 3306;
  std::string name() const { return host + ":" + std::to_string(port); } // for messages
};
struct MariadbTarget {
  std::string user, password, database, socket;
  std::vector<MariadbHost> hosts; // in order of preference: the nearest first
};
// Opens connections to the first host of the target that answers and, on a Galera cluster, is
// synced (wsrep_ready ON, wsrep_local_state 4); when none is, a node that is ready (a donor, a
// desynced node). A host that failed is skipped for a while that doubles with each failure in a
// row (1 s .. 60 s), then tried again by one connect at a time with a 1 s connect timeout; a
// connection to a fallback host retires after 10 s, so the preferred host is used again once it
// is back. on_change hears of each switch of host. Thread-safe: one per pool.
class MariadbConnector {
public:
  MariadbConnector(MariadbTarget target, int timeout_ms, std::function<void(bool, const std::string&)> on_change = {});
  ~MariadbConnector();
  Result<std::unique_ptr<SqlConnection>> operator()();
  struct Health; // per-host failure state, shared with the connections

private:
  Result<std::unique_ptr<SqlConnection>> attempt(std::size_t i, bool allow_degraded, bool& ready);
  void serving(std::size_t i, const std::string& why);
  std::string passed_over(std::size_t serving, std::chrono::steady_clock::time_point now, const std::vector<bool>& tried,
                          std::string why);

  MariadbTarget m_target;
  int m_timeout_ms;
  std::function<void(bool, const std::string&)> m_on_change;
  std::shared_ptr<Health> m_health;
};
extern const Dialect k_mariadb;

} // namespace authd::store::detail
