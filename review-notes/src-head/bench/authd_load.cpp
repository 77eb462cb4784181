// A small load client for authd: C threads, each with one keep-alive connection (TCP or UNIX
// socket), for a fixed time; prints requests/s and latency percentiles.
// usage: authd_load TARGET MODE USERS PASSWORD CONCURRENCY SECONDS [USER_PREFIX]
//   TARGET: tcp:HOST:PORT | unix:/path     MODE: post (/v1/auth JSON) | basic (/v1/basic) | health
// prints: "mode=… target=… ok=N other=N errors=N per_s=X p50_ms=X p90_ms=X p99_ms=X max_ms=X"
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::unique_ptr<httplib::Client> client(const std::string& target) {
  std::unique_ptr<httplib::Client> c;
  if (target.rfind("unix:", 0) == 0) {
    c = std::make_unique<httplib::Client>(target.substr(5));
    c->set_address_family(AF_UNIX);
  } else {
    const std::string hp = target.substr(4);
    const auto colon = hp.rfind(':');
    c = std::make_unique<httplib::Client>(hp.substr(0, colon), std::stoi(hp.substr(colon + 1)));
    c->set_tcp_nodelay(true);
  }
  c->set_keep_alive(true);
  c->set_read_timeout(60, 0);
  return c;
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) {
    return 0;
  }
  const auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(idx), v.end());
  return v[idx];
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: authd_load TARGET MODE USERS PASSWORD CONCURRENCY SECONDS [USER_PREFIX]\n");
    return 2;
  }
  const std::string target = argv[1], mode = argv[2], password = argv[4];
  const int users = std::atoi(argv[3]), conc = std::atoi(argv[5]);
  const double seconds = std::atof(argv[6]);
  const std::string prefix = argc > 7 ? argv[7] : "user";
  std::atomic<long> ok{0}, other{0}, errors{0};
  std::mutex mu;
  std::vector<double> lat;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < conc; ++t) {
    threads.emplace_back([&, t] {
      auto c = client(target);
      std::vector<double> mine;
      for (long i = t; std::chrono::steady_clock::now() < deadline; i += conc) {
        const std::string user = prefix + std::to_string(i % users);
        const auto t0 = std::chrono::steady_clock::now();
        auto send = [&]() {
          if (mode == "post") {
            return c->Post("/v1/auth", "{\"username\":\"" + user + "\",\"password\":\"" + password + "\"}", "application/json");
          }
          if (mode == "basic") {
            c->set_basic_auth(user, password);
            return c->Get("/v1/basic");
          }
          return c->Get("/healthz");
        };
        const httplib::Result r = send();
        mine.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        if (!r) {
          ++errors;
          c = client(target);
        } else if (r->status == 200) {
          ++ok;
        } else {
          ++other;
        }
      }
      std::lock_guard lock(mu);
      lat.insert(lat.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double p50 = pct(lat, 0.5), p90 = pct(lat, 0.9), p99 = pct(lat, 0.99), mx = pct(lat, 1.0);
  std::printf("mode=%s target=%s conc=%d ok=%ld other=%ld errors=%ld per_s=%.2f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
              mode.c_str(), target.c_str(), conc, ok.load(), other.load(), errors.load(),
              static_cast<double>(ok.load()) / elapsed, p50, p90, p99, mx);
  return errors.load() > 0 ? 1 : 0;
}
