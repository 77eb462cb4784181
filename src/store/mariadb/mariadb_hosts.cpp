// Several MariaDB hosts (a Galera cluster): connect to the first that answers and is synced,
// skip a failed one for a while (1 s, doubling to 60 s), come back to it later.
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

void MariadbConnector::Health::succeeded(std::size_t i) {
  std::lock_guard lock(mutex);
  hosts[i].failures = 0;
  hosts[i].skip_until = {};
}

void HostLease::checked(bool synced) {
  m_checked = Clock::now();
  if (!synced) {
    failed();
  }
}

MariadbConnector::MariadbConnector(MariadbTarget target, int timeout_ms)
    : m_target(std::move(target)), m_timeout_ms(timeout_ms), m_health(std::make_shared<Health>(m_target.hosts.size())) {}

MariadbConnector::~MariadbConnector() = default;

Result<std::unique_ptr<SqlConnection>> MariadbConnector::operator()() {
  Result<std::unique_ptr<SqlConnection>> last = fail(ErrorKind::invalid_input, "mariadb: no host");
  for (const std::size_t i : m_health->order(Clock::now())) {
    const MariadbHost& h = m_target.hosts[i];
    const std::string name = h.host + ":" + std::to_string(h.port);
    const std::uint64_t epoch = m_health->epoch(i);
    last = open_mariadb_host(m_target, h, m_timeout_ms, HostLease(m_health, i, name));
    if (last) {
      m_health->succeeded(i);
      return last;
    }
    if (last.error().kind == ErrorKind::permanent) {
      return last; // access denied, no such database: the same on every node
    }
    m_health->failed(i, epoch);
  }
  return last;
}

} // namespace authd::store::detail
