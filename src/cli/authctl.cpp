#include <iostream>

#include <CLI/CLI.hpp>

#include "authd/cli/cli.hpp"
#include "commands.hpp"

namespace authd::cli {

int run(int argc, char** argv) {
  Context ctx;
  CLI::App app{"authctl — operate authd's credential store and hash policy"};
  app.require_subcommand(1);
  ctx.config_path = config::default_config_path();
  app.add_option_function<std::string>(
      "--config", [&ctx](const std::string& path) { ctx.config_path = path; ctx.config_given = true; },
      "config file (default $AUTHD_CONFIG or /etc/authd/authd.toml)");
  app.add_option("--store", ctx.store_url, "store URL, overrides [store] url");
  add_hash_commands(app, ctx);
  add_db_commands(app, ctx);
  add_user_commands(app, ctx);
  add_audit_command(app, ctx);
  add_import_command(app, ctx);
  add_retire_commands(app, ctx);
  add_app_password_commands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return k_exit_usage;
  }
  return ctx.action ? ctx.action() : k_exit_usage;
}

} // namespace authd::cli
