#pragma once
// What every authctl subcommand shares: global options, the loaded configuration, the password
// reader and the error printer.
#include <functional>
#include <optional>
#include <string>

#include "authd/config/config.hpp"
#include "authd/util/result.hpp"
#include "authd/util/secret.hpp"

namespace authd::cli {

struct Context {
  std::string config_path;   // --config, else $AUTHD_CONFIG / the default path
  bool config_given = false; // an explicit --config must exist
  std::string store_url;     // --store overrides [store] url
  std::function<int()> action; // set by the parsed subcommand, run after parsing

  // Loads the configuration once (applying --store); prints the error and returns nullopt.
  const config::Config* config();

private:
  std::optional<config::Config> m_config;
};

// Reads the password from stdin: everything up to EOF, one trailing "\n" stripped, every other
// byte kept. On a terminal it prompts on stderr without echo and reads one line.
Result<SecretString> read_password(const char* prompt = "Password: ");

// "authctl: <message>" on stderr; returns k_exit_usage for convenience.
int report(const Error& error);
int report(const std::string& message);

} // namespace authd::cli
