#pragma once
// authd's settings: the command line, the file, and what the system must provide for them. One
// load_settings() for the start, --check-config and every SIGHUP reload, so a reload refuses
// exactly what a start would.
#include <string>
#include <vector>

#include "authd/config/config.hpp"

namespace authd::daemon {

struct Options {
  std::string config_path = config::default_config_path();
  bool config_given = false;
  std::string store_url;           // --store
  std::vector<std::string> listen; // --listen
  bool check_config = false;
  bool dump_config = false;
};

// What a load is for: a reload leaves the store password file unread (the store is not reopened,
// and a file only root may read must not make every reload fail after the privilege drop).
enum class Load { start, reload };

// The file with the command line's overrides and the store password in place, validated: every
// key's value, the listeners, the store URL (an SQLite directory that exists), the daemon user
// and group and the socket group (they exist). Errors name FILE:LINE: [section] key.
Result<config::Config> load_settings(const Options& options, Load load = Load::start);

// The embedded default (sqlite:///var/lib/authd/authd.db, neither set in the file nor by --store):
// its directory is authd's to make at start (0750), as systemd's StateDirectory= would.
bool uses_default_store(const config::Config& config, bool overridden);
Status make_default_store_dir(const config::Config& config);

} // namespace authd::daemon
