// authctl db migrate: bring the store's schema to the current version (authd does it at start).
#include <iostream>

#include <CLI/CLI.hpp>

#include "authd/cli/cli.hpp"
#include "authd/config/config.hpp"
#include "authd/store/credential_store.hpp"
#include "commands.hpp"

namespace authd::cli {
namespace {

int migrate(Context& ctx) {
  const config::Config* cfg = ctx.config();
  if (cfg == nullptr) {
    return k_exit_usage;
  }
  auto store = store::open_store(cfg->store.url, {cfg->store.timeout_ms, 1});
  if (!store) {
    return report(store.error());
  }
  auto version = (*store)->migrate();
  if (!version) {
    return report(config::redact_url(cfg->store.url) + ": " + version.error().message);
  }
  std::cout << "schema version " << *version << " (" << config::redact_url(cfg->store.url) << ")\n";
  return k_exit_ok;
}

} // namespace

void add_db_commands(CLI::App& app, Context& ctx) {
  CLI::App* db = app.add_subcommand("db", "Database maintenance");
  db->require_subcommand(1);
  db->add_subcommand("migrate", "Bring the schema to the current version (idempotent)")
      ->callback([&ctx] { ctx.action = [&ctx] { return migrate(ctx); }; });
}

} // namespace authd::cli
