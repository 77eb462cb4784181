// SQLite driver: one sqlite3 handle per pooled connection, WAL journal (readers never block the
// writer, authctl can run beside authd), busy timeout = the store timeout, foreign keys on.
// Busy/locked, read-only, disk-full and I/O errors are temporary: the operator can fix them
// without the answer ever becoming "wrong password".
#include <unordered_map>

#include <sqlite3.h>

#include "../sql.hpp"

namespace authd::store::detail {
namespace {

ErrorKind kind_of(int rc) {
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
  case SQLITE_READONLY:
  case SQLITE_FULL:
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
  case SQLITE_NOMEM:
  case SQLITE_PROTOCOL:
    return ErrorKind::temporary;
  case SQLITE_CONSTRAINT:
    return ErrorKind::conflict;
  default:
    return ErrorKind::permanent;
  }
}

class SqliteConnection final : public SqlConnection {
public:
  explicit SqliteConnection(sqlite3* db) : m_db(db) {}
  ~SqliteConnection() override {
    for (auto& [sql, stmt] : m_cache) {
      sqlite3_finalize(stmt);
    }
    sqlite3_close_v2(m_db);
  }

  Result<std::int64_t> exec(std::string_view sql, const std::vector<SqlValue>& params) override {
    auto stmt = prepare(sql, params);
    if (!stmt) {
      return tl::unexpected(stmt.error());
    }
    int rc = SQLITE_ROW;
    while (rc == SQLITE_ROW) {
      rc = sqlite3_step(*stmt);
    }
    sqlite3_reset(*stmt);
    if (rc != SQLITE_DONE) {
      return error(rc);
    }
    return static_cast<std::int64_t>(sqlite3_changes(m_db));
  }

  Status query(std::string_view sql, const std::vector<SqlValue>& params,
               const std::function<void(const Row&)>& row) override {
    auto stmt = prepare(sql, params);
    if (!stmt) {
      return tl::unexpected(stmt.error());
    }
    int rc = 0;
    Row r;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
      const int n = sqlite3_column_count(*stmt);
      r.assign(static_cast<std::size_t>(n), std::nullopt);
      for (int i = 0; i < n; ++i) {
        if (sqlite3_column_type(*stmt, i) != SQLITE_NULL) {
          const auto* p = static_cast<const char*>(sqlite3_column_blob(*stmt, i));
          r[static_cast<std::size_t>(i)] = std::string(p == nullptr ? "" : p, static_cast<std::size_t>(sqlite3_column_bytes(*stmt, i)));
        }
      }
      row(r);
    }
    sqlite3_reset(*stmt);
    if (rc != SQLITE_DONE) {
      return error(rc);
    }
    return {};
  }

  std::int64_t last_insert_id() override { return sqlite3_last_insert_rowid(m_db); }
  bool broken() const override { return false; }

private:
  tl::unexpected<Error> error(int rc) const {
    return fail(kind_of(rc), std::string("sqlite: ") + sqlite3_errmsg(m_db));
  }

  // Cached prepared statement with parameters bound (text as blobs: bytes kept exactly).
  Result<sqlite3_stmt*> prepare(std::string_view sql, const std::vector<SqlValue>& params) {
    sqlite3_stmt*& stmt = m_cache[std::string(sql)];
    if (stmt == nullptr) {
      const int rc = sqlite3_prepare_v2(m_db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
      if (rc != SQLITE_OK) {
        m_cache.erase(std::string(sql));
        return error(rc);
      }
    }
    sqlite3_clear_bindings(stmt);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i + 1);
      if (const auto* v = std::get_if<std::int64_t>(&params[i])) {
        sqlite3_bind_int64(stmt, idx, *v);
      } else if (const auto* t = std::get_if<std::string_view>(&params[i])) {
        sqlite3_bind_text(stmt, idx, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_null(stmt, idx);
      }
    }
    return stmt;
  }

  sqlite3* m_db;
  std::unordered_map<std::string, sqlite3_stmt*> m_cache;
};

} // namespace

const Dialect k_sqlite = {"sqlite", "BEGIN IMMEDIATE", "INSERT OR IGNORE", "BEGIN IMMEDIATE", "COMMIT",
                          "ROLLBACK", "", sqlite_migrations};

Result<std::unique_ptr<SqlConnection>> open_sqlite_connection(const std::string& path, int timeout_ms) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "sqlite: cannot open " + path + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close_v2(db);
    return fail(ErrorKind::temporary, msg);
  }
  sqlite3_busy_timeout(db, timeout_ms);
  auto conn = std::make_unique<SqliteConnection>(db);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"}) {
    if (auto ok = conn->query(pragma, {}, [](const Row&) {}); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  return std::unique_ptr<SqlConnection>(std::move(conn));
}

} // namespace authd::store::detail
