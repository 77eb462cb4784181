// authd: load the config, open and migrate the store, serve HTTP on every listener (bound here or
// passed by systemd), reload the config on SIGHUP, stop cleanly on SIGTERM/SIGINT (in-flight
// requests finish within [http] drain_timeout_s). Tells systemd (Type=notify) when it is ready,
// reloading and stopping.
#include "daemon.hpp"

#include <atomic>
#include <condition_variable>
#include <csignal>

#include <sys/resource.h>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include "authd/config/config.hpp"
#include "authd/core/auth_service.hpp"
#include "authd/frontend/dovecot_frontend.hpp"
#include "authd/frontend/web_frontend.hpp"
#include "authd/frontend/http_frontend.hpp"
#include "settings.hpp"

namespace authd::daemon {
namespace {

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("authd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z authd[%P]: %l: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::trace);
}

Status drop_privileges(const config::DaemonConfig& d) {
  if (d.user.empty()) {
    return {};
  }
  const passwd* pw = ::getpwnam(d.user.c_str());
  if (pw == nullptr) {
    return fail(ErrorKind::invalid_input, "daemon.user '" + d.user + "' does not exist");
  }
  gid_t gid = pw->pw_gid;
  if (!d.group.empty()) {
    const group* g = ::getgrnam(d.group.c_str());
    if (g == nullptr) {
      return fail(ErrorKind::invalid_input, "daemon.group '" + d.group + "' does not exist");
    }
    gid = g->gr_gid;
  }
  if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(pw->pw_uid) != 0) {
    return fail(ErrorKind::permanent, "cannot drop privileges to " + d.user);
  }
  return {};
}

// Brings the schema up; a database that is down at start is retried in the background while
// authd already answers (503 until it is reachable), so a reboot order never matters.
// Host switches are logged (a warning for a fallback) and counted; lost races are counted.
store::StoreEvents store_events(core::Metrics& metrics) {
  return {[&metrics](bool fallback, const std::string& line) {
            fallback ? spdlog::warn("{}", line) : spdlog::info("{}", line);
            metrics.add("authd_store_host_switches_total", {{"fallback", fallback ? "yes" : "no"}});
          },
          [&metrics] { metrics.add("authd_store_race_retries_total", {}); }};
}

void migrate_until_done(store::CredentialStore& store, std::atomic<bool>& stopping, std::atomic<bool>& fatal) {
  for (int attempt = 0; !stopping; ++attempt) {
    auto v = store.migrate();
    if (v) {
      spdlog::info("store schema version {}", *v);
      return;
    }
    if (v.error().kind == ErrorKind::permanent) {
      spdlog::critical("store: {}", v.error().message);
      fatal = true;
      return;
    }
    if (attempt == 0) {
      spdlog::warn("store not reachable yet ({}); answering 503 and retrying", v.error().message);
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
}

// Every connection is a descriptor: the soft limit (often 1024) goes up to the hard one.
rlim_t raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return 1024;
  }
  lim.rlim_cur = lim.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &lim);
  return lim.rlim_cur;
}

// The front ends, and the connection cap the open-file limit allows each listener: a listener
// that is full closes its longest-idle connection to make room, which only works while it is
// full before the process runs out of descriptors (then no listener could accept at all).
struct FrontEnds {
  frontend::HttpFrontend& http;
  frontend::DovecotFrontend& dovecot;
  frontend::WebFrontend& web;
  int cap = 0;

  std::size_t listeners() const { return http.listener_count() + dovecot.listener_count() + web.listener_count(); }

  void limit(rlim_t fds) {
    const std::size_t listening = std::max<std::size_t>(1, listeners());
    constexpr rlim_t k_reserve = 256; // the store's connections, logs, the probes
    const rlim_t per = fds == RLIM_INFINITY || fds <= k_reserve ? 1000000 : (fds - k_reserve) / listening;
    cap = static_cast<int>(std::max<rlim_t>(16, std::min<rlim_t>(per, 1000000)));
  }
  void reconfigure(const config::Config& c) {
    config::Config effective = c;
    if (effective.http.max_connections > cap) {
      spdlog::warn("[http] max_connections {} capped at {} per listener: the open-file limit allows no more across {} "
                   "listener(s) (raise LimitNOFILE)", effective.http.max_connections, cap,
                   listeners());
      effective.http.max_connections = cap;
    }
    http.reconfigure(effective);
    dovecot.reconfigure(effective);
    web.reconfigure(effective);
  }
};

// SIGHUP: the file again, through the same checks as a start. Refused: the running settings
// stay, and the log says why. Accepted: what can change live does; what needs a restart is named.
void reload(const Options& options, config::Config& running, core::AuthService& service, FrontEnds& fronts) {
  ::sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", static_cast<unsigned long long>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch()).count()));
  auto loaded = load_settings(options, Load::reload);
  if (loaded && !running.store.url_as_written.empty() && loaded->store.url == running.store.url_as_written) {
    loaded->store.url = running.store.url; // the same URL; its password came from the file at start
    loaded->store.url_as_written = running.store.url_as_written;
  }
  if (!loaded) {
    spdlog::error("SIGHUP: {}: configuration refused, the running one stays", loaded.error().message);
  } else {
    for (const std::string& key : config::keep_restart_settings(running, *loaded)) {
      if (key == "[http] listen" && fronts.http.socket_activated()) {
        spdlog::warn("SIGHUP: [http] listen changed: not used under socket activation (change authd.socket)");
      } else {
        spdlog::warn("SIGHUP: {} changed: it takes effect at the next restart; the running value stays", key);
      }
    }
    for (const std::string& change : config::changed_settings(running, *loaded)) {
      spdlog::info("SIGHUP: {}", change);
    }
    running = std::move(*loaded);
    spdlog::set_level(spdlog::level::from_str(running.daemon.log_level));
    service.reconfigure(running);
    fronts.reconfigure(running);
    spdlog::info("SIGHUP: configuration {} reloaded: target {} cost {}", running.source,
                 policy::to_string(running.policy.target), running.policy.bcrypt_cost);
  }
  ::sd_notify(0, "READY=1");
}

const char* signal_name(int sig) { return sig == SIGHUP ? "SIGHUP" : sig == SIGINT ? "SIGINT" : "SIGTERM"; }

// Signals that arrive while the front ends drain are named, not acted on: the stop is under way
// and ends within the drain bound whatever else is asked (systemd's SIGKILL is the hard stop).
void name_signals_while_stopping(const sigset_t& signals, const std::atomic<bool>& stopped) {
  while (!stopped) {
    timespec tick{0, 100'000'000};
    siginfo_t info{};
    const int sig = sigtimedwait(&signals, &info, &tick);
    if (sig > 0) {
      spdlog::info("{} while stopping: ignored, the stop is under way", signal_name(sig));
    }
  }
}

int serve(const Options& options, config::Config cfg) {
  const std::vector<std::string> listen = cfg.http.listen;
  const rlim_t fds = raise_fd_limit();
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) {
    sigaddset(&signals, s);
  }
  pthread_sigmask(SIG_BLOCK, &signals, nullptr); // every thread inherits: only sigwait sees them
  std::signal(SIGPIPE, SIG_IGN);

  if (uses_default_store(cfg, !options.store_url.empty())) {
    if (auto ok = make_default_store_dir(cfg); !ok) {
      spdlog::critical("store: {}", ok.error().message);
      return 1;
    }
  }
  core::Metrics metrics;
  auto store = store::open_store(cfg.store.url, {cfg.store.timeout_ms, cfg.store.pool_size}, store_events(metrics));
  if (!store) {
    spdlog::critical("store: {}", store.error().message);
    return 1;
  }
  std::atomic<bool> stopping{false}, fatal{false};
  auto first = (*store)->migrate();
  if (first) {
    spdlog::info("store {} schema version {}", config::redact_url(cfg.store.url), *first);
  } else if (first.error().kind == ErrorKind::permanent) {
    spdlog::critical("store: {}", first.error().message);
    return 1;
  }
  const policy::HashPolicy policy(cfg.policy);
  core::AuthService service(**store, policy, cfg, metrics);
  frontend::HttpFrontend http(service, metrics, cfg);
  frontend::DovecotFrontend dovecot(service, metrics, cfg);
  frontend::WebFrontend web(service, **store, metrics, cfg);
  for (const Status& ok : {http.start(listen), dovecot.start(), web.start(), drop_privileges(cfg.daemon)}) {
    if (!ok) {
      spdlog::critical("{}", ok.error().message);
      return 1; // the front ends stop (and unlink what they bound) as they go out of scope
    }
  }
  FrontEnds fronts{http, dovecot, web};
  fronts.limit(fds);
  fronts.reconfigure(cfg);
  std::thread migrator([&] {
    if (!first) {
      migrate_until_done(**store, stopping, fatal);
    }
  });
  std::mutex m;
  std::condition_variable cv;
  std::atomic<int> gauge_s{cfg.core.gauge_refresh_s};
  std::thread gauges([&] {
    std::unique_lock lock(m);
    do {
      lock.unlock();
      (void)service.refresh_gauges();
      lock.lock();
    } while (!cv.wait_for(lock, std::chrono::seconds(gauge_s.load()), [&] { return stopping.load(); }));
  });
  spdlog::info("authd ready: target {} cost {}", policy::to_string(cfg.policy.target), cfg.policy.bcrypt_cost);
  ::sd_notify(0, "READY=1");
  for (;;) {
    int sig = 0;
    timespec tick{1, 0};
    siginfo_t info{};
    sig = sigtimedwait(&signals, &info, &tick);
    if (fatal) {
      break;
    }
    if (sig == SIGHUP) {
      reload(options, cfg, service, fronts);
      gauge_s = cfg.core.gauge_refresh_s;
    } else if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("{}: stopping after in-flight requests", signal_name(sig));
      break;
    }
  }
  ::sd_notify(0, "STOPPING=1");
  {
    std::lock_guard lock(m);
    stopping = true;
  }
  cv.notify_all();
  std::atomic<bool> stopped{false};
  std::thread late_signals([&] { name_signals_while_stopping(signals, stopped); });
  http.stop();
  dovecot.stop();
  web.stop();
  migrator.join();
  gauges.join();
  stopped = true;
  late_signals.join();
  spdlog::info("authd stopped");
  return fatal ? 1 : 0;
}

} // namespace

int run(int argc, char** argv) {
  Options opt;
  opt.config_given = std::getenv("AUTHD_CONFIG") != nullptr;
  CLI::App app{"authd — the credential-store gateway: answers logins, upgrades legacy hashes"};
  app.add_option_function<std::string>(
      "--config", [&](const std::string& p) { opt.config_path = p; opt.config_given = true; },
      "config file (default $AUTHD_CONFIG or /etc/authd/authd.toml); SIGHUP re-reads it");
  app.add_option("--store", opt.store_url, "store URL, overrides [store] url");
  app.add_option("--listen", opt.listen,
                 "listener (repeatable): 127.0.0.1:8425, [::1]:8425, unix:/path; not used under socket activation");
  app.add_flag("--check-config", opt.check_config, "validate the configuration (and the users, groups, paths it names) and exit");
  app.add_flag("--dump-config", opt.dump_config, "print the effective configuration (secrets masked) and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto cfg = load_settings(opt);
  if (!cfg) {
    std::cerr << "authd: " << cfg.error().message << "\n";
    return 2;
  }
  if (opt.dump_config) {
    std::cout << config::dump_config(*cfg);
    return 0;
  }
  if (opt.check_config) {
    std::cout << "authd: configuration " << cfg->source << " is valid\n";
    return 0;
  }
  setup_logging(cfg->daemon.log_level);
  return serve(opt, std::move(*cfg));
}

} // namespace authd::daemon
