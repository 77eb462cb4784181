// authctl app-password add|list|revoke (CONTRACT.md). The generated password is printed once, as
// the only line on stdout; afterwards only its label, scope and history are ever shown.
#include <algorithm>
#include <ctime>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "authd/cli/cli.hpp"
#include "authd/policy/app_password.hpp"
#include "commands.hpp"
#include "store_access.hpp"

namespace authd::cli {
namespace {

struct AppOptions {
  std::string name;
  std::vector<std::string> services;
  std::string label;
  std::string expires; // YYYY-MM-DD
  std::int64_t id = 0;
  std::string format = "table";
};

int answer(const Error& e) {
  report(e);
  return e.kind == ErrorKind::not_found ? k_exit_no : k_exit_usage;
}

int add(Context& ctx, const AppOptions& o) {
  if (!policy::app_password_label_ok(o.label)) {
    return report("--label: at most 200 bytes, no control characters (tabs, newlines, escapes)");
  }
  store::NewAppPassword app;
  app.services = o.services;
  app.label = o.label;
  if (!o.expires.empty()) {
    app.expires_at = policy::end_of_date(o.expires);
    if (!app.expires_at) {
      return report("--expires takes a date YYYY-MM-DD");
    }
    if (*app.expires_at <= store::now_seconds()) {
      return report("--expires " + o.expires + " is in the past");
    }
  }
  auto store = open_store(ctx, Access::write);
  if (!store) {
    return k_exit_usage;
  }
  const SecretString secret = policy::generate_app_password();
  app.verifier = *policy::app_password_verifier(secret);
  auto id = store->add_app_password(o.name, app, {0, "", "app_password_add", "authctl", "", "", o.label});
  if (!id) {
    return answer(id.error());
  }
  std::cerr << "app password " << *id << " for " << *store::normalize_username(o.name) << " (shown once):\n";
  std::cout << secret.view().reveal() << "\n";
  return k_exit_ok;
}

nlohmann::json app_json(const store::AppPassword& a) {
  const auto time_or_null = [](const std::optional<std::int64_t>& t) { return t ? nlohmann::json(iso_time(*t)) : nlohmann::json(nullptr); };
  return {{"id", a.id}, {"label", a.label}, {"services", a.services}, {"created_at", iso_time(a.created_at)},
          {"expires_at", time_or_null(a.expires_at)}, {"last_used_at", time_or_null(a.last_used_at)},
          {"last_used_service", a.last_used_service.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.last_used_service)},
          {"last_used_ip", a.last_used_ip.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.last_used_ip)},
          {"revoked", a.revoked}};
}

int list(Context& ctx, const AppOptions& o) {
  auto store = open_store(ctx, Access::read);
  if (!store) {
    return k_exit_usage;
  }
  auto apps = store->app_passwords(o.name);
  if (!apps) {
    return answer(apps.error());
  }
  if (o.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : *apps) {
      out.push_back(app_json(a));
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return k_exit_ok;
  }
  // ID TAB LABEL TAB SERVICES TAB CREATED TAB EXPIRES TAB LAST USED TAB STATE
  for (const auto& a : *apps) {
    const bool expired = a.expires_at && *a.expires_at <= store::now_seconds();
    std::cout << a.id << "\t" << (a.label.empty() ? "-" : a.label) << "\t" << store::join_services(a.services) << "\t"
              << iso_time(a.created_at) << "\t" << (a.expires_at ? iso_time(*a.expires_at) : "never") << "\t"
              << (a.last_used_at ? iso_time(*a.last_used_at) + " " + a.last_used_service + " " + a.last_used_ip : "never")
              << "\t" << (a.revoked ? "revoked" : expired ? "expired" : "active") << "\n";
  }
  return k_exit_ok;
}

int revoke(Context& ctx, const AppOptions& o) {
  auto store = open_store(ctx, Access::write);
  if (!store) {
    return k_exit_usage;
  }
  auto ok = store->revoke_app_password(o.name, o.id, {0, "", "app_password_revoke", "authctl", "", "", std::to_string(o.id)});
  if (!ok) {
    return answer(ok.error());
  }
  std::cout << "revoked app password " << o.id << " of " << *store::normalize_username(o.name) << "\n";
  return k_exit_ok;
}

} // namespace

void add_app_password_commands(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<AppOptions>();
  CLI::App* group = app.add_subcommand("app-password", "Per-device passwords, scoped to services, revocable");
  group->require_subcommand(1);
  CLI::App* add_cmd = group->add_subcommand("add", "Make an app password (printed once) for NAME");
  add_cmd->add_option("NAME", o->name, "user name")->required();
  add_cmd->add_option("--service", o->services, "a service it may be used for (repeatable, at least one; 'all' = every service)")->required();
  add_cmd->add_option("--label", o->label, "what it is for (\"Anna's phone\")");
  add_cmd->add_option("--expires", o->expires, "last day it works, YYYY-MM-DD (default: never)");
  add_cmd->callback([&ctx, o] { ctx.action = [&ctx, o] { return add(ctx, *o); }; });
  CLI::App* list_cmd = group->add_subcommand("list", "List NAME's app passwords (never the secrets)");
  list_cmd->add_option("NAME", o->name, "user name")->required();
  list_cmd->add_option("--format", o->format, "table (default) or json")->check(CLI::IsMember({"table", "json"}));
  list_cmd->callback([&ctx, o] { ctx.action = [&ctx, o] { return list(ctx, *o); }; });
  CLI::App* revoke_cmd = group->add_subcommand("revoke", "Revoke one of NAME's app passwords at once");
  revoke_cmd->add_option("NAME", o->name, "user name")->required();
  revoke_cmd->add_option("ID", o->id, "its id (app-password list)")->required();
  revoke_cmd->callback([&ctx, o] { ctx.action = [&ctx, o] { return revoke(ctx, *o); }; });
}

} // namespace authd::cli
