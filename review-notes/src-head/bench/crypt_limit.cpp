// The physical limit: raw libxcrypt bcrypt verifies per second on all cores, no authd involved.
// usage: crypt_limit COST SECONDS [THREADS]   -> prints "cost=C threads=T verifies=N seconds=S per_s=X"
#include <crypt.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: crypt_limit COST SECONDS [THREADS]\n");
    return 2;
  }
  const int cost = std::atoi(argv[1]);
  const double seconds = std::atof(argv[2]);
  const unsigned threads = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : std::thread::hardware_concurrency();
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  crypt_gensalt_rn("$2y$", static_cast<unsigned long>(cost), nullptr, 0, setting, sizeof setting);
  auto data = std::make_unique<crypt_data>();
  const std::string stored = crypt_rn("benchmark-password", setting, data.get(), sizeof(crypt_data));
  std::atomic<long> total{0};
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      auto cd = std::make_unique<crypt_data>();
      long n = 0;
      while (std::chrono::steady_clock::now() < deadline) {
        const char* out = crypt_rn("benchmark-password", stored.c_str(), cd.get(), sizeof(crypt_data));
        n += out != nullptr && stored == out ? 1 : 0;
      }
      total += n;
    });
  }
  for (auto& t : pool) {
    t.join();
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("cost=%d threads=%u verifies=%ld seconds=%.2f per_s=%.2f\n", cost, threads, total.load(), elapsed,
              static_cast<double>(total.load()) / elapsed);
  return 0;
}
