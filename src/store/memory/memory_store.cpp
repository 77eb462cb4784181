// In-memory CredentialStore with the drivers' semantics, for unit tests of the layers above.
// It can be told to fail (set_failing) to test temporary-failure paths.
#include <algorithm>
#include <map>
#include <mutex>
#include <type_traits>

#include "authd/store/credential_store.hpp"
#include "store/grant_rules.hpp"

namespace authd::store {
namespace {

class MemoryStore final : public CredentialStore {
public:
  Result<int> migrate() override { return 5; } // the SQL stores' schema version (sql/)
  Result<int> check_schema() override { return 5; }
  Status ping() override { return {}; }

  Result<std::optional<Account>> find(std::string_view username) override {
    auto name = normalize_username(username);
    std::lock_guard lock(m_mutex);
    if (!name || !m_by_name.contains(*name)) {
      return std::optional<Account>{};
    }
    return std::optional<Account>(m_accounts.at(m_by_name.at(*name)));
  }

  Result<std::int64_t> create(const NewAccount& n, const Event& event) override {
    auto name = normalize_username(n.username);
    if (!name) {
      return tl::unexpected(name.error());
    }
    if (auto ok = check_new_username(*name); !ok) {
      return tl::unexpected(ok.error());
    }
    auto grants = new_account_grants(n.services);
    if (!grants) {
      return tl::unexpected(grants.error());
    }
    std::lock_guard lock(m_mutex);
    if (m_by_name.contains(*name)) {
      return fail(ErrorKind::conflict, "user '" + *name + "' exists");
    }
    Account a;
    a.id = ++m_next_id;
    a.username = *name;
    a.password_hash = n.password_hash;
    a.enabled = n.enabled;
    a.home = n.home;
    a.uid = n.uid;
    a.gid = n.gid;
    a.created_at = a.password_changed_at = now_seconds();
    a.services = *grants;
    a.all_services = grants->empty();
    m_by_name[a.username] = a.id;
    m_accounts[a.id] = a;
    log(event, a.username);
    return a.id;
  }

  Result<bool> swap_hash(std::int64_t id, std::string_view expected, std::string_view fresh,
                         const Event& event) override {
    std::lock_guard lock(m_mutex);
    auto it = m_accounts.find(id);
    if (it == m_accounts.end() || it->second.password_hash != expected) {
      return false;
    }
    it->second.password_hash = std::string(fresh); // the same password: password_changed_at stays
    log(event, it->second.username);
    return true;
  }

  Status set_hash(std::string_view username, std::string_view hash, const Event& event) override {
    return with_account(username, event, [&](Account& a) {
      a.password_hash = std::string(hash);
      a.password_changed_at = now_seconds();
    });
  }

  Status set_enabled(std::string_view username, bool enabled, const Event& event) override {
    return with_account(username, event, [&](Account& a) { a.enabled = enabled; });
  }

  Status remove(std::string_view username, const Event& event) override {
    std::int64_t id = 0;
    auto ok = with_account(username, event, [&](Account& a) { id = a.id; });
    if (ok) {
      std::lock_guard lock(m_mutex);
      m_by_name.erase(m_accounts.at(id).username);
      m_accounts.erase(id);
      m_sources.erase(id);
      m_logins.erase(id);
      std::erase_if(m_apps, [&](const auto& kv) { return kv.second.account_id == id; });
      std::erase_if(m_verifiers, [&](const auto& kv) { return !m_apps.contains(kv.second); });
    }
    return ok;
  }

  Status grant(std::string_view username, std::string_view service, const Event& event) override {
    return change_grants(username, service, event, true);
  }

  Status revoke(std::string_view username, std::string_view service, const Event& event) override {
    return change_grants(username, service, event, false);
  }

  Status record_login(const Login& l, std::int64_t forget_before) override {
    std::lock_guard lock(m_mutex);
    const auto it = m_accounts.find(l.account_id);
    if (it == m_accounts.end()) {
      return {};
    }
    it->second.last_login_at = l.at;
    it->second.last_login_service = std::string(l.service);
    auto& rows = m_logins[l.account_id];
    const auto row = std::find_if(rows.begin(), rows.end(), [&](const RecentLogin& r) {
      return r.service == l.service && r.ip == l.ip && r.app_password_id == l.app_password_id;
    });
    if (row == rows.end()) {
      rows.push_back({std::string(l.service), std::string(l.ip), l.app_password_id, "", l.at, l.at, 1});
    } else {
      row->last_at = l.at;
      ++row->count;
    }
    std::erase_if(rows, [&](const RecentLogin& r) { return r.last_at < forget_before; });
    return {};
  }

  Result<std::vector<RecentLogin>> recent_logins(std::string_view username, std::size_t limit) override {
    auto found = find(username);
    if (!found || !*found) {
      return found ? fail(ErrorKind::not_found, "no such user '" + std::string(username) + "'") : tl::unexpected(found.error());
    }
    std::lock_guard lock(m_mutex);
    std::vector<RecentLogin> out = m_logins[(*found)->id];
    std::stable_sort(out.begin(), out.end(), [](const RecentLogin& a, const RecentLogin& b) {
      return a.last_at != b.last_at ? a.last_at > b.last_at : a.first_at > b.first_at;
    });
    out.resize(std::min(out.size(), limit));
    for (RecentLogin& r : out) {
      if (const auto app = m_apps.find(r.app_password_id); app != m_apps.end()) {
        r.app_password_label = app->second.label;
      }
    }
    return out;
  }

  Status remember_source(std::int64_t id, std::string_view source, std::int64_t at, std::int64_t forget_before) override {
    std::lock_guard lock(m_mutex);
    auto& rows = m_sources[id];
    rows[std::string(source)] = at;
    std::erase_if(rows, [&](const auto& kv) { return kv.second < forget_before; });
    return {};
  }

  Result<bool> familiar(std::int64_t id, std::string_view source, std::int64_t since) override {
    std::lock_guard lock(m_mutex);
    const auto it = m_sources.find(id);
    if (it == m_sources.end()) {
      return false;
    }
    const auto row = it->second.find(std::string(source));
    return row != it->second.end() && row->second >= since;
  }

  Status for_each(const std::function<bool(const Account&)>& visit) override {
    std::vector<Account> all;
    {
      std::lock_guard lock(m_mutex);
      for (const auto& [id, a] : m_accounts) {
        all.push_back(a);
      }
    }
    for (Account& a : all) {
      {
        std::lock_guard lock(m_mutex);
        a.active_app_passwords = std::count_if(m_apps.begin(), m_apps.end(), [&](const auto& kv) {
          return kv.second.account_id == a.id && !kv.second.revoked;
        });
      }
      if (!visit(a)) {
        break;
      }
    }
    return {};
  }

  Result<std::int64_t> add_app_password(std::string_view username, const NewAppPassword& app, const Event& event) override {
    auto services = service_list(app.services, true);
    if (!services) {
      return tl::unexpected(services.error());
    }
    std::int64_t id = 0;
    auto ok = with_account(username, event, [&](Account& a) {
      AppPassword p;
      p.id = id = ++m_next_app_id;
      p.account_id = a.id;
      p.label = app.label;
      p.services = *services ? **services : std::vector<std::string>{std::string(k_all_services)};
      p.created_at = now_seconds();
      p.expires_at = app.expires_at;
      m_apps[p.id] = p;
      m_verifiers[app.verifier] = p.id;
    });
    return ok ? Result<std::int64_t>(id) : tl::unexpected(ok.error());
  }

  Result<std::vector<AppPassword>> app_passwords(std::string_view username) override {
    auto found = find(username);
    if (!found || !*found) {
      return found ? fail(ErrorKind::not_found, "no such user '" + std::string(username) + "'") : tl::unexpected(found.error());
    }
    std::lock_guard lock(m_mutex);
    std::vector<AppPassword> out;
    for (auto it = m_apps.rbegin(); it != m_apps.rend(); ++it) {
      if (it->second.account_id == (*found)->id) {
        out.push_back(it->second);
      }
    }
    return out;
  }

  Status revoke_app_password(std::string_view username, std::int64_t id, const Event& event) override {
    bool mine = false;
    auto ok = with_account(username, event, [&](Account& a) {
      const auto it = m_apps.find(id);
      mine = it != m_apps.end() && it->second.account_id == a.id;
      if (mine) {
        it->second.revoked = true;
      }
      return mine;
    });
    if (ok && !mine) {
      return fail(ErrorKind::not_found, "no app password " + std::to_string(id) + " for '" + std::string(username) + "'");
    }
    return ok;
  }

  Result<std::optional<AppPassword>> find_app_password(std::int64_t account_id, std::string_view verifier) override {
    std::lock_guard lock(m_mutex);
    const auto v = m_verifiers.find(std::string(verifier));
    if (v == m_verifiers.end() || m_apps.at(v->second).account_id != account_id) {
      return std::optional<AppPassword>{};
    }
    return std::optional<AppPassword>(m_apps.at(v->second));
  }

  Status app_password_used(std::int64_t id, std::string_view service, std::string_view ip, std::int64_t at) override {
    std::lock_guard lock(m_mutex);
    if (auto it = m_apps.find(id); it != m_apps.end()) {
      it->second.last_used_at = at;
      it->second.last_used_service = std::string(service);
      it->second.last_used_ip = std::string(ip);
    }
    return {};
  }

  Status set_main_password_services(std::string_view username, const std::optional<std::vector<std::string>>& services,
                                    const Event& event) override {
    std::optional<std::vector<std::string>> list;
    if (services) {
      auto checked = service_list(*services, false);
      if (!checked) {
        return tl::unexpected(checked.error());
      }
      list = *checked;
    }
    return with_account(username, event, [&](Account& a) { a.main_password_services = list; });
  }

  Result<std::vector<Event>> events(std::string_view username, std::size_t limit) override {
    std::lock_guard lock(m_mutex);
    std::vector<Event> out;
    for (auto it = m_events.rbegin(); it != m_events.rend() && out.size() < limit; ++it) {
      if (username.empty() || it->username == username) {
        out.push_back(*it);
      }
    }
    return out;
  }

  Status import(const std::function<bool(ImportRecord&)>& next, bool update, const std::string& actor,
                const std::function<void(const ImportRecord&, ImportOutcome)>& done) override {
    ImportRecord rec;
    while (next(rec)) {
      auto name = normalize_username(rec.account.username);
      if (auto ok = name ? check_new_username(*name) : Status(tl::unexpected(name.error())); !ok) {
        return tl::unexpected(ok.error());
      }
      if (!m_by_name.contains(*name)) {
        NewAccount n = rec.account;
        n.services.clear();
        (void)create(n, Event{0, "", "import", actor, "", rec.scheme, ""});
        done(rec, ImportOutcome::imported);
      } else if (update) {
        (void)set_hash(*name, rec.account.password_hash, Event{0, "", "import", actor, "", rec.scheme, ""});
        done(rec, ImportOutcome::updated);
      } else {
        done(rec, ImportOutcome::skipped);
      }
    }
    return {};
  }

private:
  // The SQL stores' grant rules (CredentialStore::grant/revoke), from grant_rules.hpp.
  Status change_grants(std::string_view username, std::string_view service, const Event& event, bool give) {
    Status refused;
    auto ok = with_account(username, event, [&](Account& a) {
      detail::GrantState state{a.all_services, a.services};
      auto changed = detail::change_grant_state(state, a.username, service, give);
      if (!changed) {
        refused = tl::unexpected(changed.error());
        return false;
      }
      a.all_services = state.all_services;
      a.services = state.services;
      return *changed;
    });
    return ok ? refused : ok;
  }

  void log(Event e, const std::string& username) {
    e.username = username;
    e.at = e.at != 0 ? e.at : now_seconds();
    m_events.push_back(std::move(e));
  }

  template <class Fn>
  Status with_account(std::string_view username, const Event& event, Fn&& change) {
    auto name = normalize_username(username);
    if (!name) {
      return tl::unexpected(name.error());
    }
    std::lock_guard lock(m_mutex);
    auto it = m_by_name.find(*name);
    if (it == m_by_name.end()) {
      return fail(ErrorKind::not_found, "no such user '" + *name + "'");
    }
    if constexpr (std::is_same_v<decltype(change(m_accounts.at(it->second))), bool>) {
      if (!change(m_accounts.at(it->second))) {
        return {}; // nothing changed: no event
      }
    } else {
      change(m_accounts.at(it->second));
    }
    log(event, *name);
    return {};
  }

  std::mutex m_mutex;
  std::map<std::int64_t, Account> m_accounts;
  std::map<std::int64_t, std::map<std::string, std::int64_t>> m_sources; // familiar sources
  std::map<std::int64_t, std::vector<RecentLogin>> m_logins;
  std::map<std::string, std::int64_t> m_by_name;
  std::vector<Event> m_events;
  std::int64_t m_next_id = 0;
  std::map<std::int64_t, AppPassword> m_apps;
  std::map<std::string, std::int64_t> m_verifiers; // verifier -> app password id
  std::int64_t m_next_app_id = 0;
};

} // namespace

std::unique_ptr<CredentialStore> make_memory_store() { return std::make_unique<MemoryStore>(); }

} // namespace authd::store
