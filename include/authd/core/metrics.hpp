#pragma once
// Prometheus metrics in the text exposition format. Counters and gauges keyed by name and label
// set; one latency histogram for verifies. Thread-safe; one short mutex hold per update.
#include <array>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace authd::core {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
public:
  Metrics();
  void add(const std::string& name, const Labels& labels, double value = 1);
  void set(const std::string& name, const Labels& labels, double value);
  void clear_gauge(const std::string& name);
  void observe_verify(double seconds);
  // One login answer in authd_logins_total{service,scheme,outcome}. The client names the
  // service: a name gets its own series once a login for it succeeded, or while it is one of the
  // first k_unproven_services names never seen succeed; later such names count as
  // service="other", so invented names cannot crowd the real services out of the series budget.
  void login(std::string_view service, std::string_view scheme, std::string_view outcome);
  double value(const std::string& name, const Labels& labels) const; // for tests
  std::string render() const;

private:
  struct Family {
    std::string type; // counter | gauge
    std::string help;
    std::map<std::string, double> series; // rendered label set -> value
  };
  static std::string render_labels(const Labels& labels);
  static double& series(Family& f, const Labels& labels); // under m_mutex
  static constexpr std::size_t k_max_series = 1000;
  static constexpr std::size_t k_unproven_services = 32;
  static constexpr std::size_t k_proven_services = 256;
  std::string service_label(std::string_view service, bool succeeded); // under m_mutex

  mutable std::mutex m_mutex;
  std::map<std::string, Family> m_families;
  std::set<std::string, std::less<>> m_proven, m_unproven; // service names: with a success, without
  static constexpr std::array<double, 10> k_buckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
  std::array<unsigned long long, k_buckets.size()> m_bucket_counts{};
  unsigned long long m_verify_count = 0;
  double m_verify_sum = 0;
};

} // namespace authd::core
