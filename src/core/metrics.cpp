#include "authd/core/metrics.hpp"

#include <sstream>

namespace authd::core {
namespace {

struct Known {
  const char* name;
  const char* type;
  const char* help;
};

constexpr Known k_known[] = {
    {"authd_logins_total", "counter", "Login answers by service, scheme of the stored hash and outcome"},
    {"authd_upgrades_total", "counter", "Hash upgrades after a login by from-scheme and result (written, cas_lost, failed)"},
    {"authd_throttled_total", "counter", "Logins answered 'throttled' (429) without hashing: the wait exceeded hold_max_ms"},
    {"authd_throttle_delayed_total", "counter", "Throttled logins whose answer was held for the penalty, then verified"},
    {"authd_verify_shed_total", "counter", "Logins refused (temporary failure) because their verify lane was full, by lane"},
    {"authd_http_connections", "gauge", "Open client connections by listener (HTTP, and the Dovecot auth protocol listeners too)"},
    {"authd_http_connections_refused_total", "counter", "Connections refused at accept, by reason (full, per_peer)"},
    {"authd_http_connections_closed_total", "counter", "Connections closed by authd before the client, by reason"},
    {"authd_store_errors_total", "counter", "Store operations that failed, by operation"},
    {"authd_store_race_retries_total", "counter", "Store transactions run again after losing a race to a concurrent write (Galera certification, deadlock)"},
    {"authd_store_host_switches_total", "counter", "Switches of the MariaDB host new connections go to, by whether the new one is a fallback"},
    {"authd_verify_queue_full_total", "counter", "Requests refused because the verify queue was full"},
    {"authd_cache_hits_total", "counter", "Logins answered from the positive auth cache"},
    {"authd_accounts", "gauge", "Accounts by hash status (refreshed periodically)"},
    {"authd_http_requests_total", "counter", "HTTP requests by endpoint and status"},
};

std::string escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

} // namespace

Metrics::Metrics() {
  for (const Known& k : k_known) {
    m_families[k.name] = Family{k.type, k.help, {}};
  }
}

std::string Metrics::render_labels(const Labels& labels) {
  if (labels.empty()) {
    return "";
  }
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    out += (i > 0 ? "," : "") + labels[i].first + "=\"" + escape(labels[i].second) + "\"";
  }
  return out + "}";
}

// Label values can come from clients (a service name in a URL): past k_max_series a family's new
// label sets all land in one {overflow="true"} series, so /metrics and memory stay bounded.
double& Metrics::series(Family& f, const Labels& labels) {
  std::string key = render_labels(labels);
  if (f.series.size() >= k_max_series && f.series.find(key) == f.series.end()) {
    key = "{overflow=\"true\"}";
  }
  return f.series[key];
}

void Metrics::add(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(m_mutex);
  Family& f = m_families[name];
  if (f.type.empty()) {
    f.type = "counter";
  }
  series(f, labels) += value;
}

std::string Metrics::service_label(std::string_view service, bool succeeded) {
  if (m_proven.find(service) != m_proven.end()) {
    return std::string(service);
  }
  if (succeeded && m_proven.size() < k_proven_services) {
    m_unproven.erase(std::string(service));
    return *m_proven.emplace(service).first;
  }
  if (!succeeded && (m_unproven.find(service) != m_unproven.end() || m_unproven.size() < k_unproven_services)) {
    return *m_unproven.emplace(service).first;
  }
  return "other";
}

void Metrics::login(std::string_view service, std::string_view scheme, std::string_view outcome) {
  std::lock_guard lock(m_mutex);
  Family& f = m_families["authd_logins_total"];
  series(f, {{"service", service_label(service, outcome == "ok")}, {"scheme", std::string(scheme)},
             {"outcome", std::string(outcome)}}) += 1;
}

void Metrics::set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(m_mutex);
  Family& f = m_families[name];
  f.type = "gauge";
  series(f, labels) = value;
}

void Metrics::clear_gauge(const std::string& name) {
  std::lock_guard lock(m_mutex);
  m_families[name].series.clear();
}

void Metrics::observe_verify(double seconds) {
  std::lock_guard lock(m_mutex);
  for (std::size_t i = 0; i < k_buckets.size(); ++i) {
    if (seconds <= k_buckets[i]) {
      ++m_bucket_counts[i];
    }
  }
  ++m_verify_count;
  m_verify_sum += seconds;
}

double Metrics::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(m_mutex);
  const auto f = m_families.find(name);
  if (f == m_families.end()) {
    return 0;
  }
  const auto s = f->second.series.find(render_labels(labels));
  return s == f->second.series.end() ? 0 : s->second;
}

std::string Metrics::render() const {
  std::ostringstream out;
  std::lock_guard lock(m_mutex);
  for (const auto& [name, f] : m_families) {
    if (!f.help.empty()) {
      out << "# HELP " << name << " " << f.help << "\n";
    }
    out << "# TYPE " << name << " " << f.type << "\n";
    for (const auto& [labels, v] : f.series) {
      out << name << labels << " " << v << "\n";
    }
  }
  out << "# HELP authd_verify_seconds Time spent verifying (and rehashing) one password\n"
      << "# TYPE authd_verify_seconds histogram\n";
  for (std::size_t i = 0; i < k_buckets.size(); ++i) {
    out << "authd_verify_seconds_bucket{le=\"" << k_buckets[i] << "\"} " << m_bucket_counts[i] << "\n";
  }
  out << "authd_verify_seconds_bucket{le=\"+Inf\"} " << m_verify_count << "\n"
      << "authd_verify_seconds_sum " << m_verify_sum << "\n"
      << "authd_verify_seconds_count " << m_verify_count << "\n";
  return out.str();
}

} // namespace authd::core
