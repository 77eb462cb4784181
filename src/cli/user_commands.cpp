// authctl user add|passwd|disable|enable|delete|show|list|grant|revoke (CONTRACT.md).
// Passwords come from stdin (or a no-echo prompt on a terminal), never from argv. Every change
// writes an event. Exit 0 done, 1 a negative answer (no such user, exists already), 2 bad input.
#include <algorithm>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "authd/cli/cli.hpp"
#include "authd/policy/hash_policy.hpp"
#include "commands.hpp"
#include "store_access.hpp"

namespace authd::cli {
namespace {

struct UserOptions {
  std::string name;
  std::string hash;
  std::string service;
  std::vector<std::string> services;
  std::string home;
  std::int64_t uid = -1;
  std::int64_t gid = -1;
  bool disabled = false;
  std::string format = "table";
  std::vector<std::string> main_password_services; // user set --main-password-service
};

store::Event event(const std::string& kind, std::string from = "", std::string to = "") {
  return {0, "", kind, "authctl", std::move(from), std::move(to), ""};
}

int answer(const Status& s) {
  if (s) {
    return k_exit_ok;
  }
  report(s.error());
  return s.error().kind == ErrorKind::not_found || s.error().kind == ErrorKind::conflict ? k_exit_no : k_exit_usage;
}

// A new hash of a password read from stdin (the policy's: argon2id beyond bcrypt's 72 bytes).
Result<std::string> hash_from_stdin(const policy::HashPolicy& policy) {
  auto password = read_password("New password: ");
  if (!password) {
    return tl::unexpected(password.error());
  }
  if (password->empty()) {
    return fail(ErrorKind::invalid_input, "refusing an empty password");
  }
  return policy.hash(*password);
}

int add(Context& ctx, const UserOptions& o) {
  auto store = open_store(ctx, Access::write);
  if (!store) {
    return k_exit_usage;
  }
  const policy::HashPolicy policy(ctx.config()->policy);
  store::NewAccount n{o.name, o.hash, !o.disabled, {}, {}, {}, o.services};
  if (!o.home.empty()) {
    n.home = o.home;
  }
  if (o.uid >= 0) {
    n.uid = o.uid;
  }
  if (o.gid >= 0) {
    n.gid = o.gid;
  }
  if (n.password_hash.empty()) {
    auto h = hash_from_stdin(policy);
    if (!h) {
      return report(h.error());
    }
    n.password_hash = *h;
  }
  const auto c = policy.classify(n.password_hash);
  if (c.status == policy::HashStatus::invalid) {
    return report("--hash: " + c.error);
  }
  auto id = store->create(n, event("create", "", c.scheme));
  if (!id) {
    return answer(tl::unexpected(id.error()));
  }
  std::cout << "added " << *store::normalize_username(o.name) << " (" << c.scheme << " " << policy::to_string(c.status) << ")\n";
  return k_exit_ok;
}

int passwd(Context& ctx, const UserOptions& o) {
  auto store = open_store(ctx, Access::write);
  if (!store) {
    return k_exit_usage;
  }
  const policy::HashPolicy policy(ctx.config()->policy);
  if (auto canon = store::normalize_username(o.name); !canon) {
    return report(canon.error()); // not a name any account can have: a usage error, not "no such user"
  }
  auto found = store->find(o.name);
  if (!found || !*found) {
    return answer(found ? fail(ErrorKind::not_found, "no such user '" + o.name + "'") : Status(tl::unexpected(found.error())));
  }
  auto h = hash_from_stdin(policy);
  if (!h) {
    return report(h.error());
  }
  const std::string from = policy.classify((*found)->password_hash).scheme;
  return answer(store->set_hash(o.name, *h, event("password_change", from, policy.classify(*h).scheme)));
}

// "all" (every service), "none" (no service: the last grant was revoked) or the granted list.
std::string services_text(const store::Account& a) {
  if (a.all_services) {
    return "all";
  }
  std::string out;
  for (const std::string& s : a.services) {
    out += (out.empty() ? "" : ",") + s;
  }
  return out.empty() ? "none" : out;
}

// "all" (the default), "none" (app passwords only) or the list.
std::string main_password_text(const store::Account& a) {
  if (!a.main_password_services) {
    return "all";
  }
  return a.main_password_services->empty() ? "none" : store::join_services(*a.main_password_services);
}

nlohmann::json account_json(const store::Account& a, const policy::Classification& c) {
  const auto time_or_null = [](const std::optional<std::int64_t>& t) { return t ? nlohmann::json(iso_time(*t)) : nlohmann::json(nullptr); };
  return {{"username", a.username}, {"enabled", a.enabled}, {"scheme", c.scheme}, {"status", policy::to_string(c.status)},
          {"all_services", a.all_services}, {"services", a.services}, {"created_at", iso_time(a.created_at)},
          {"password_changed_at", iso_time(a.password_changed_at)}, {"last_login_at", time_or_null(a.last_login_at)},
          {"last_login_service", a.last_login_service}, {"home", a.home ? nlohmann::json(*a.home) : nlohmann::json(nullptr)},
          {"uid", a.uid ? nlohmann::json(*a.uid) : nlohmann::json(nullptr)},
          {"gid", a.gid ? nlohmann::json(*a.gid) : nlohmann::json(nullptr)},
          {"main_password_services", a.main_password_services ? nlohmann::json(*a.main_password_services) : nlohmann::json(nullptr)}};
}

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

int show(Context& ctx, const UserOptions& o) {
  auto store = open_store(ctx, Access::read);
  if (!store) {
    return k_exit_usage;
  }
  if (auto canon = store::normalize_username(o.name); !canon) {
    return report(canon.error()); // not a name any account can have: a usage error, not "no such user"
  }
  auto found = store->find(o.name);
  if (!found || !*found) {
    return answer(found ? fail(ErrorKind::not_found, "no such user '" + o.name + "'") : Status(tl::unexpected(found.error())));
  }
  const store::Account& a = **found;
  const auto c = policy::HashPolicy(ctx.config()->policy).classify(a.password_hash);
  if (o.format == "json") {
    std::cout << dump(account_json(a, c)) << "\n";
    return k_exit_ok;
  }
  const std::string services = services_text(a);
  std::cout << "username:         " << a.username << "\n"
            << "enabled:          " << (a.enabled ? "yes" : "no") << "\n"
            << "scheme:           " << c.scheme << " (" << policy::to_string(c.status) << ")\n"
            << "services:         "
            << (services == "all" ? "all (every service)" : services == "none" ? "none (no service: every login refused)" : services)
            << "\nmain password:    "
            << (a.main_password_services ? main_password_text(a) + " (other services: app passwords only)" : "all services")
            << "\ncreated:          " << iso_time(a.created_at) << "\n"
            << "password changed: " << iso_time(a.password_changed_at) << "\n"
            << "last login:       " << (a.last_login_at ? iso_time(*a.last_login_at) + " (" + a.last_login_service + ")" : "never") << "\n";
  if (a.home || a.uid || a.gid) {
    std::cout << "home/uid/gid:     " << a.home.value_or("-") << " " << (a.uid ? std::to_string(*a.uid) : "-") << " "
              << (a.gid ? std::to_string(*a.gid) : "-") << "\n";
  }
  return k_exit_ok;
}

// Table: NAME TAB enabled|disabled TAB SCHEME TAB STATUS TAB SERVICES (all, none or a,b).
// JSON: one array, streamed (bounded memory), of the objects `user show --format json` prints.
int list(Context& ctx, const UserOptions& o) {
  auto store = open_store(ctx, Access::read);
  if (!store) {
    return k_exit_usage;
  }
  const policy::HashPolicy policy(ctx.config()->policy);
  const bool json = o.format == "json";
  bool first = true;
  std::cout << (json ? "[" : "");
  auto ok = store->for_each([&](const store::Account& a) {
    const auto c = policy.classify(a.password_hash);
    if (json) {
      std::cout << (first ? "\n  " : ",\n  ") << dump(account_json(a, c));
    } else {
      std::cout << a.username << "\t" << (a.enabled ? "enabled" : "disabled") << "\t" << c.scheme << "\t"
                << policy::to_string(c.status) << "\t" << services_text(a) << "\n";
    }
    first = false;
    return true;
  });
  std::cout << (json ? (first ? "]\n" : "\n]\n") : "");
  return ok ? k_exit_ok : report(ok.error());
}

// After a revoke: say what the account may still use (the last grant closes it).
int revoked(Context& ctx, const UserOptions& o) {
  auto store = open_store(ctx, Access::write);
  if (!store) {
    return k_exit_usage;
  }
  if (auto ok = store->revoke(o.name, o.service, event("revoke", o.service, "")); !ok) {
    return answer(ok);
  }
  auto now = store->find(o.name);
  if (now && *now) {
    const std::string left = services_text(**now);
    std::cout << (**now).username << ": " << (left == "none" ? "no service left — every login is refused" : "services " + left) << "\n";
  }
  return k_exit_ok;
}

// user set NAME --main-password-service S...: 'all' = every service again, 'none' = app
// passwords only.
Status set_main(store::CredentialStore& s, const UserOptions& u) {
  const auto& list = u.main_password_services;
  const bool keyword = std::find_if(list.begin(), list.end(), [](const std::string& name) {
                         return name == "none" || name == store::k_all_services;
                       }) != list.end();
  if (keyword && list.size() > 1) {
    return fail(ErrorKind::invalid_input, "'all' and 'none' stand alone: not with other services");
  }
  std::optional<std::vector<std::string>> services;
  if (list.size() == 1 && list.front() == "none") {
    services = std::vector<std::string>{};
  } else if (!(list.size() == 1 && list.front() == store::k_all_services)) {
    services = list;
  }
  return s.set_main_password_services(u.name, services, event("main_password_services", "", store::join_services(list)));
}

using Change = Status (*)(store::CredentialStore&, const UserOptions&);

int change(Context& ctx, const UserOptions& o, Change fn) {
  auto store = open_store(ctx, Access::write);
  return store ? answer(fn(*store, o)) : k_exit_usage;
}

} // namespace

void add_user_commands(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<UserOptions>();
  CLI::App* user = app.add_subcommand("user", "Manage accounts");
  user->require_subcommand(1);
  const auto named = [&](const char* name, const char* help) {
    CLI::App* cmd = user->add_subcommand(name, help);
    cmd->add_option("NAME", o->name, "user name")->required();
    return cmd;
  };
  CLI::App* add_cmd = named("add", "Add an account (password from stdin unless --hash)");
  add_cmd->add_option("--hash", o->hash, "an existing hash of any recognised scheme");
  add_cmd->add_option("--service", o->services, "grant a service (repeatable; none or 'all' = every service)");
  add_cmd->add_option("--home", o->home, "home directory for Dovecot's userdb");
  add_cmd->add_option("--uid", o->uid, "uid for Dovecot's userdb")->check(CLI::Range(0, 2147483647));
  add_cmd->add_option("--gid", o->gid, "gid for Dovecot's userdb")->check(CLI::Range(0, 2147483647));
  add_cmd->add_flag("--disabled", o->disabled, "create it disabled");
  add_cmd->callback([&ctx, o] { ctx.action = [&ctx, o] { return add(ctx, *o); }; });
  named("passwd", "Set a new password (from stdin)")->callback([&ctx, o] { ctx.action = [&ctx, o] { return passwd(ctx, *o); }; });
  const auto formats = CLI::IsMember({"table", "json"});
  CLI::App* show_cmd = named("show", "Show an account (never its hash)");
  show_cmd->add_option("--format", o->format, "table (default) or json")->check(formats);
  show_cmd->callback([&ctx, o] { ctx.action = [&ctx, o] { return show(ctx, *o); }; });
  CLI::App* list_cmd = user->add_subcommand("list", "List accounts with scheme, status and services");
  list_cmd->add_option("--format", o->format, "table (default) or json")->check(formats);
  list_cmd->callback([&ctx, o] { ctx.action = [&ctx, o] { return list(ctx, *o); }; });
  named("disable", "Disable an account")->callback([&ctx, o] {
    ctx.action = [&ctx, o] { return change(ctx, *o, [](store::CredentialStore& s, const UserOptions& u) { return s.set_enabled(u.name, false, event("disable")); }); };
  });
  named("enable", "Enable an account")->callback([&ctx, o] {
    ctx.action = [&ctx, o] { return change(ctx, *o, [](store::CredentialStore& s, const UserOptions& u) { return s.set_enabled(u.name, true, event("enable")); }); };
  });
  named("delete", "Delete an account")->callback([&ctx, o] {
    ctx.action = [&ctx, o] { return change(ctx, *o, [](store::CredentialStore& s, const UserOptions& u) { return s.remove(u.name, event("delete")); }); };
  });
  CLI::App* grant = named("grant", "Allow a service (the first grant replaces every service; 'all' = every service)");
  grant->add_option("SERVICE", o->service)->required();
  grant->callback([&ctx, o] {
    ctx.action = [&ctx, o] { return change(ctx, *o, [](store::CredentialStore& s, const UserOptions& u) { return s.grant(u.name, u.service, event("grant", "", u.service)); }); };
  });
  CLI::App* set = named("set", "Change an account's settings");
  set->add_option("--main-password-service,--main-password-services", o->main_password_services,
                  "a service the account's own password is accepted for (repeatable; 'all' = every service, the "
                  "default; 'none' = app passwords only)")
      ->required();
  set->callback([&ctx, o] { ctx.action = [&ctx, o] { return change(ctx, *o, set_main); }; });
  CLI::App* revoke = named("revoke", "Withdraw a service (the last one leaves no service; 'all' = none at once)");
  revoke->add_option("SERVICE", o->service)->required();
  revoke->callback([&ctx, o] { ctx.action = [&ctx, o] { return revoked(ctx, *o); }; });
}

} // namespace authd::cli
