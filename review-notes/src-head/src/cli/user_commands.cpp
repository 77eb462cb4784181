// authctl user add|passwd|disable|enable|delete|show|list|grant|revoke (CONTRACT.md).
// Passwords come from stdin (or a no-echo prompt on a terminal), never from argv. Every change
// writes an event. Exit 0 done, 1 a negative answer (no such user, exists already), 2 bad input.
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

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

// A new target-scheme hash of a password read from stdin, refusing what bcrypt would mangle.
Result<std::string> hash_from_stdin(const policy::HashPolicy& policy) {
  auto password = read_password("New password: ");
  if (!password) {
    return tl::unexpected(password.error());
  }
  if (password->empty()) {
    return fail(ErrorKind::invalid_input, "refusing an empty password");
  }
  if (policy.config().target == policy::Target::bcrypt && password->size() > scheme::k_bcrypt_max_password) {
    return fail(ErrorKind::invalid_input, "bcrypt uses only the first 72 bytes of a password");
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
  auto found = store->find(o.name);
  if (!found || !*found) {
    return answer(found ? fail(ErrorKind::not_found, "no such user '" + o.name + "'") : Status(tl::unexpected(found.error())));
  }
  auto h = hash_from_stdin(policy);
  if (!h) {
    return report(h.error());
  }
  const std::string from = policy.classify((*found)->password_hash).scheme;
  return answer(store->set_hash(o.name, *h, event("password_change", from, policy::to_string(policy.config().target))));
}

int show(Context& ctx, const UserOptions& o) {
  auto store = open_store(ctx, Access::read);
  if (!store) {
    return k_exit_usage;
  }
  auto found = store->find(o.name);
  if (!found || !*found) {
    return answer(found ? fail(ErrorKind::not_found, "no such user '" + o.name + "'") : Status(tl::unexpected(found.error())));
  }
  const store::Account& a = **found;
  const auto c = policy::HashPolicy(ctx.config()->policy).classify(a.password_hash);
  std::cout << "username:         " << a.username << "\n"
            << "enabled:          " << (a.enabled ? "yes" : "no") << "\n"
            << "scheme:           " << c.scheme << " (" << policy::to_string(c.status) << ")\n"
            << "services:         " << (a.services.empty() ? "(all)" : "") ;
  for (std::size_t i = 0; i < a.services.size(); ++i) {
    std::cout << (i > 0 ? ", " : "") << a.services[i];
  }
  std::cout << "\ncreated:          " << iso_time(a.created_at) << "\n"
            << "password changed: " << iso_time(a.password_changed_at) << "\n"
            << "last login:       " << (a.last_login_at ? iso_time(*a.last_login_at) + " (" + a.last_login_service + ")" : "never") << "\n";
  if (a.home || a.uid || a.gid) {
    std::cout << "home/uid/gid:     " << a.home.value_or("-") << " " << (a.uid ? std::to_string(*a.uid) : "-") << " "
              << (a.gid ? std::to_string(*a.gid) : "-") << "\n";
  }
  return k_exit_ok;
}

int list(Context& ctx) {
  auto store = open_store(ctx, Access::read);
  if (!store) {
    return k_exit_usage;
  }
  const policy::HashPolicy policy(ctx.config()->policy);
  auto ok = store->for_each([&](const store::Account& a) {
    const auto c = policy.classify(a.password_hash);
    std::cout << a.username << "\t" << (a.enabled ? "enabled" : "disabled") << "\t" << c.scheme << "\t"
              << policy::to_string(c.status) << "\n";
    return true;
  });
  return ok ? k_exit_ok : report(ok.error());
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
  add_cmd->add_option("--service", o->services, "grant a service (repeatable; none = every service)");
  add_cmd->add_option("--home", o->home, "home directory for Dovecot's userdb");
  add_cmd->add_option("--uid", o->uid, "uid for Dovecot's userdb")->check(CLI::Range(0, 2147483647));
  add_cmd->add_option("--gid", o->gid, "gid for Dovecot's userdb")->check(CLI::Range(0, 2147483647));
  add_cmd->add_flag("--disabled", o->disabled, "create it disabled");
  add_cmd->callback([&ctx, o] { ctx.action = [&ctx, o] { return add(ctx, *o); }; });
  named("passwd", "Set a new password (from stdin)")->callback([&ctx, o] { ctx.action = [&ctx, o] { return passwd(ctx, *o); }; });
  named("show", "Show an account (never its hash)")->callback([&ctx, o] { ctx.action = [&ctx, o] { return show(ctx, *o); }; });
  user->add_subcommand("list", "List accounts with scheme and status")->callback([&ctx] { ctx.action = [&ctx] { return list(ctx); }; });
  named("disable", "Disable an account")->callback([&ctx, o] {
    ctx.action = [&ctx, o] { return change(ctx, *o, [](store::CredentialStore& s, const UserOptions& u) { return s.set_enabled(u.name, false, event("disable")); }); };
  });
  named("enable", "Enable an account")->callback([&ctx, o] {
    ctx.action = [&ctx, o] { return change(ctx, *o, [](store::CredentialStore& s, const UserOptions& u) { return s.set_enabled(u.name, true, event("enable")); }); };
  });
  named("delete", "Delete an account")->callback([&ctx, o] {
    ctx.action = [&ctx, o] { return change(ctx, *o, [](store::CredentialStore& s, const UserOptions& u) { return s.remove(u.name, event("delete")); }); };
  });
  CLI::App* grant = named("grant", "Allow a service");
  grant->add_option("SERVICE", o->service)->required();
  grant->callback([&ctx, o] {
    ctx.action = [&ctx, o] { return change(ctx, *o, [](store::CredentialStore& s, const UserOptions& u) { return s.grant(u.name, u.service, event("grant", "", u.service)); }); };
  });
  CLI::App* revoke = named("revoke", "Withdraw a service");
  revoke->add_option("SERVICE", o->service)->required();
  revoke->callback([&ctx, o] {
    ctx.action = [&ctx, o] { return change(ctx, *o, [](store::CredentialStore& s, const UserOptions& u) { return s.revoke(u.name, u.service, event("revoke", u.service, "")); }); };
  });
}

} // namespace authd::cli
