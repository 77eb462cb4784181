// Several MariaDB hosts (a Galera cluster): connect to the first that answers and is synced,
// skip a failed one for a while (1 s, doubling to 60 s), come back to it later with one probe at
// a time; when no node is synced, a node that is at least ready (a donor, a desynced node) rather
// than no login at all.
#include "mariadb_hosts.hpp"

#include <algorithm>

namespace authd::store::detail {

std::vector<std::size_t> MariadbConnector::Health::order(Clock::time_point now) {
  std::lock_guard lock(mutex);
  std::vector<std::size_t> ready, skipped;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    (hosts[i].skip_until > now ? skipped : ready).push_back(i);
  }
  ready.insert(ready.end(), skipped.begin(), skipped.end());
  return ready;
}

std::uint64_t MariadbConnector::Health::epoch(std::size_t i) {
  std::lock_guard lock(mutex);
  return hosts[i].epoch;
}

bool MariadbConnector::Health::begin_try(std::size_t i) {
  std::lock_guard lock(mutex);
  Host& h = hosts[i];
  if (h.failures == 0) {
    return true;
  }
  if (h.probing) {
    return false;
  }
  h.probing = true;
  return true;
}

void MariadbConnector::Health::end_try(std::size_t i) {
  std::lock_guard lock(mutex);
  hosts[i].probing = false;
}

bool MariadbConnector::Health::failed_before(std::size_t i) {
  std::lock_guard lock(mutex);
  return hosts[i].failures > 0;
}

long MariadbConnector::Health::skipped_for(std::size_t i, Clock::time_point now) {
  std::lock_guard lock(mutex);
  const auto until = hosts[i].skip_until;
  return until > now ? std::chrono::ceil<std::chrono::seconds>(until - now).count() : 0;
}

void MariadbConnector::Health::failed(std::size_t i, std::uint64_t seen) {
  std::lock_guard lock(mutex);
  Host& h = hosts[i];
  if (h.epoch != seen) {
    return; // this failure was already counted through another connection
  }
  ++h.epoch;
  h.failures = std::min(h.failures + 1, 7);
  h.skip_until = Clock::now() + std::chrono::seconds(std::min(60, 1 << (h.failures - 1)));
}

bool MariadbConnector::Health::succeeded(std::size_t i) {
  std::lock_guard lock(mutex);
  hosts[i].failures = 0;
  hosts[i].skip_until = {};
  const bool changed = serving != i;
  serving = i;
  return changed;
}

void HostLease::checked(bool usable) {
  m_checked = Clock::now();
  if (!usable) {
    failed();
  }
}

MariadbConnector::MariadbConnector(MariadbTarget target, int timeout_ms, std::function<void(bool, const std::string&)> on_change)
    : m_target(std::move(target)), m_timeout_ms(timeout_ms), m_on_change(std::move(on_change)),
      m_health(std::make_shared<Health>(m_target.hosts.size())) {}

MariadbConnector::~MariadbConnector() = default;

Result<std::unique_ptr<SqlConnection>> MariadbConnector::attempt(std::size_t i, bool allow_degraded, bool& ready) {
  const MariadbHost& h = m_target.hosts[i];
  // A host that failed before gets a short connect timeout: a healthy one answers in milliseconds.
  const HostTimeouts timeouts{m_health->failed_before(i) ? std::min(m_timeout_ms, 1000) : m_timeout_ms, m_timeout_ms};
  const std::uint64_t epoch = m_health->epoch(i);
  auto conn = open_mariadb_host(m_target, h, timeouts, HostLease(m_health, i, h.name()), allow_degraded, ready);
  if (!conn) {
    m_health->failed(i, epoch);
  }
  return conn;
}

void MariadbConnector::serving(std::size_t i, const std::string& why) {
  if (m_health->succeeded(i) && m_on_change && m_target.hosts.size() > 1) {
    m_on_change(i != 0 || !why.empty(), "store: connected to " + m_target.hosts[i].name() +
                (i == 0 ? " (the first host)" : "") + (why.empty() ? "" : "; " + why));
  }
}

namespace {
void add(std::string& why, const std::string& what) { why += (why.empty() ? "" : "; ") + what; }
} // namespace

// Why the nearer hosts were passed over although this call did not try them: skipped after an
// earlier failure (for the log line of a switch).
std::string MariadbConnector::passed_over(std::size_t serving, Clock::time_point now, const std::vector<bool>& tried,
                                          std::string why) {
  for (std::size_t j = 0; j < serving; ++j) {
    if (const long s = tried[j] ? 0 : m_health->skipped_for(j, now); s > 0) {
      add(why, m_target.hosts[j].name() + " is skipped for " + std::to_string(s) + " s more after a failure");
    }
  }
  return why;
}

Result<std::unique_ptr<SqlConnection>> MariadbConnector::operator()() {
  std::string why; // every host's failure: for the error, and the log line of a switch
  std::vector<std::size_t> ready_nodes;
  bool all_permanent = true;
  bool tried = false;
  std::vector<bool> seen(m_target.hosts.size()); // tried, or noted as probed, by this call
  const auto now = Clock::now();
  for (const std::size_t i : m_health->order(now)) {
    seen[i] = true;
    if (!m_health->begin_try(i)) {
      add(why, m_target.hosts[i].name() + " is being probed by another request");
      continue;
    }
    bool ready = false;
    auto conn = attempt(i, false, ready);
    m_health->end_try(i);
    if (conn) {
      serving(i, passed_over(i, now, seen, why));
      return conn;
    }
    tried = true;
    // Access denied or no such database on one host is that host's fault (a rebuilt node, a
    // name now pointing elsewhere): the others are tried.
    all_permanent = all_permanent && conn.error().kind == ErrorKind::permanent;
    if (ready) {
      ready_nodes.push_back(i);
    }
    add(why, conn.error().message);
  }
  for (const std::size_t i : ready_nodes) {
    bool ready = false;
    if (auto conn = attempt(i, true, ready)) {
      serving(i, "no Galera node is synced, this one is in the primary component");
      return conn;
    }
  }
  if (!tried) {
    return fail(ErrorKind::temporary, "mariadb: every host failed and is being tried again by another request");
  }
  const ErrorKind kind = all_permanent ? ErrorKind::permanent : ErrorKind::temporary;
  return fail(kind, m_target.hosts.size() > 1 ? "mariadb: no host answered: " + why : why);
}

} // namespace authd::store::detail
