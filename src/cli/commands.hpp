#pragma once
// Registration of authctl's subcommand groups; each group lives in its own file.
#include "context.hpp"

namespace CLI {
class App;
}

namespace authd::cli {

void add_hash_commands(CLI::App& app, Context& ctx);
void add_db_commands(CLI::App& app, Context& ctx);
void add_user_commands(CLI::App& app, Context& ctx);
void add_audit_command(CLI::App& app, Context& ctx);
void add_import_command(CLI::App& app, Context& ctx);
void add_retire_commands(CLI::App& app, Context& ctx);
void add_app_password_commands(CLI::App& app, Context& ctx);

} // namespace authd::cli
