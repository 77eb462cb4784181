// Bulk import for the SQL store: one transaction, batches of 500 records, a few statements each.
#include "sql_store.hpp"

namespace authd::store::detail {
namespace {

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

} // namespace

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
        if (auto ok = name ? check_new_username(*name) : Status(tl::unexpected(name.error())); !ok) {
          return tl::unexpected(ok.error()); // callers validate first; a bad name here is a bug
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

} // namespace authd::store::detail
