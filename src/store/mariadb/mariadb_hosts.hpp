#pragma once
// Private to the MariaDB driver: what a connection knows of the host it went to, shared with the
// MariadbConnector that chose it (failover and Galera's synced state, sql.hpp).
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../sql.hpp"

namespace authd::store::detail {

using Clock = std::chrono::steady_clock;

struct MariadbConnector::Health {
  struct Host {
    int failures = 0;          // in a row
    Clock::time_point skip_until{};
    std::uint64_t epoch = 0;   // bumped by a failure: every connection made before is given up
    bool probing = false;      // a connect to this failed host is under way: nobody else tries it
  };
  explicit Health(std::size_t n) : hosts(n) {}
  // Host indices in the order to try: those not skipped first, in preference order.
  std::vector<std::size_t> order(Clock::time_point now);
  std::uint64_t epoch(std::size_t i);
  // False when the host failed before and another connect is trying it now (one probe at a
  // time, so a host that black-holes connections costs one request its timeout, not several).
  bool begin_try(std::size_t i);
  void end_try(std::size_t i);
  bool failed_before(std::size_t i);
  // Whole seconds host i is still skipped for after a failure (0: not skipped).
  long skipped_for(std::size_t i, Clock::time_point now);
  // A failure seen by a connection of `epoch` (or a connect): counted once per epoch.
  void failed(std::size_t i, std::uint64_t epoch);
  // A connection made; true when it is another host than the last one (worth a log line).
  bool succeeded(std::size_t i);

  std::mutex mutex;
  std::vector<Host> hosts;
  std::optional<std::size_t> serving;
};

// A connection's tie to its host.
class HostLease {
public:
  HostLease(std::shared_ptr<MariadbConnector::Health> health, std::size_t index, std::string name)
      : m_health(std::move(health)), m_index(index), m_epoch(m_health->epoch(index)), m_name(std::move(name)) {}
  const std::string& name() const { return m_name; }
  bool current() const { return m_health->epoch(m_index) == m_epoch; }
  void failed() { m_health->failed(m_index, m_epoch); }
  // Galera only: the synced state is asked again when the last answer is a second old.
  bool check_due() const { return galera && Clock::now() - m_checked >= std::chrono::seconds(1); }
  void checked(bool usable);
  // A connection to a fallback host is closed after 10 s, one to a node that is not synced
  // (taken because no synced node answered) after 1 s: their successors look again.
  bool retire() const {
    const auto age = Clock::now() - m_opened;
    return (degraded && age >= std::chrono::seconds(1)) || (m_index != 0 && age >= std::chrono::seconds(10));
  }

  bool galera = false;
  bool degraded = false; // a Galera node in the primary component but not synced (donor, desynced)

private:
  std::shared_ptr<MariadbConnector::Health> m_health;
  std::size_t m_index;
  std::uint64_t m_epoch;
  std::string m_name;
  Clock::time_point m_opened = Clock::now();
  Clock::time_point m_checked{};
};

struct HostTimeouts {
  int connect_ms; // shorter for a host that failed before
  int io_ms;
};

// One connection to one host (mariadb_connection.cpp). On Galera it is refused unless the node
// is synced, or, with allow_degraded, at least ready (in the primary component); `ready` tells
// a refused node that was ready.
Result<std::unique_ptr<SqlConnection>> open_mariadb_host(const MariadbTarget& target, const MariadbHost& host,
                                                         HostTimeouts timeouts, HostLease lease, bool allow_degraded,
                                                         bool& ready);

} // namespace authd::store::detail
