#include "settings.hpp"

#include <filesystem>

#include <grp.h>
#include <sys/stat.h>
#include <pwd.h>

#include "authd/store/credential_store.hpp"

namespace authd::daemon {
namespace {

Status invalid(const std::string& where, const std::string& what) {
  return fail(ErrorKind::invalid_input, where + ": " + what);
}

Status check_accounts(const config::Config& c) {
  if (!c.daemon.user.empty() && ::getpwnam(c.daemon.user.c_str()) == nullptr) {
    return invalid(c.origin("daemon", "user"), "no such user '" + c.daemon.user + "'");
  }
  if (!c.daemon.group.empty() && ::getgrnam(c.daemon.group.c_str()) == nullptr) {
    return invalid(c.origin("daemon", "group"), "no such group '" + c.daemon.group + "'");
  }
  if (!c.http.socket_group.empty() && ::getgrnam(c.http.socket_group.c_str()) == nullptr) {
    return invalid(c.origin("http", "socket_group"), "no such group '" + c.http.socket_group + "'");
  }
  if (!c.dovecot_auth.socket_group.empty() && ::getgrnam(c.dovecot_auth.socket_group.c_str()) == nullptr) {
    return invalid(c.origin("dovecot_auth", "socket_group"), "no such group '" + c.dovecot_auth.socket_group + "'");
  }
  return {};
}

Status check_store(const config::Config& c, bool overridden) {
  if (uses_default_store(c, overridden)) {
    return {}; // its directory is made at start when missing
  }
  if (auto s = store::open_store(c.store.url, {}); !s) { // parses; opens nothing yet
    return invalid(overridden ? "--store" : c.origin("store", "url"), s.error().message);
  }
  return {};
}

} // namespace

bool uses_default_store(const config::Config& c, bool overridden) {
  return !overridden && c.store.url == config::StoreConfig{}.url;
}

Status make_default_store_dir(const config::Config& c) {
  const std::filesystem::path dir = std::filesystem::path(c.store.url.substr(std::string_view("sqlite://").size())).parent_path();
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) {
    return {};
  }
  if (!std::filesystem::create_directories(dir, ec) || ::chmod(dir.c_str(), 0750) != 0) {
    return fail(ErrorKind::invalid_input, "cannot create " + dir.string() + " for the default store: " + ec.message());
  }
  return {};
}

Result<config::Config> load_settings(const Options& o, Load load) {
  // A reload never falls back to the defaults: a file deleted or caught empty half-way through
  // being written would silently drop the bearer token, the proxies, the throttle settings.
  const bool reload = load == Load::reload;
  std::error_code ec;
  if (reload && std::filesystem::is_regular_file(o.config_path, ec) && std::filesystem::file_size(o.config_path, ec) == 0) {
    return fail(ErrorKind::invalid_input, o.config_path + ": is empty (still being written?); to return to the defaults "
                                                          "write a comment in it");
  }
  auto cfg = config::load_config(o.config_path, o.config_given || reload);
  if (!cfg) {
    return cfg;
  }
  if (!o.store_url.empty()) {
    cfg->store.url = o.store_url;
  }
  if (!o.listen.empty()) {
    cfg->http.listen = o.listen;
  }
  if (load == Load::start) {
    if (auto ok = config::resolve_store_password(*cfg); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  for (auto check : {check_store(*cfg, !o.store_url.empty()),
                     config::check_listeners(cfg->http.listen, o.listen.empty() ? cfg->origin("http", "listen") : "--listen"), check_accounts(*cfg)}) {
    if (!check) {
      return tl::unexpected(check.error());
    }
  }
  return cfg;
}

} // namespace authd::daemon
