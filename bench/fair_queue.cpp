// What the fair share costs per queued job (FairQueue, src/core/fair_queue.cpp) next to the plain
// FIFO of std::function it replaced, with 1, 16 and 64 clients queuing: the figure to hold
// against one bcrypt verify (~3.8 ms at cost 10, ~240 ms at cost 12 here).
#include <benchmark/benchmark.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "authd/core/fair_queue.hpp"

namespace {

std::vector<std::string> clients(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    std::string key = "198.51.100.";
    key += std::to_string(i);
    out.push_back(std::move(key));
  }
  return out;
}

// 64 jobs queued, then taken: the lane's default size.
void plain_fifo(benchmark::State& state) {
  int ran = 0;
  for (auto _ : state) {
    std::deque<std::function<void()>> q;
    for (int i = 0; i < 64; ++i) {
      q.emplace_back([&ran] { ++ran; });
    }
    while (!q.empty()) {
      auto job = std::move(q.front());
      q.pop_front();
      job();
    }
  }
  benchmark::DoNotOptimize(ran);
  state.SetItemsProcessed(state.iterations() * 64);
}

void fair_queue(benchmark::State& state) {
  const auto keys = clients(static_cast<std::size_t>(state.range(0)));
  int ran = 0;
  for (auto _ : state) {
    authd::core::FairQueue q(1024, 1024); // no refusals: the cost of the bookkeeping alone
    for (int i = 0; i < 64; ++i) {
      q.push(keys[static_cast<std::size_t>(i) % keys.size()], [&ran] { ++ran; });
    }
    while (!q.empty()) {
      q.pop()();
    }
  }
  benchmark::DoNotOptimize(ran);
  state.SetItemsProcessed(state.iterations() * 64);
}

BENCHMARK(plain_fifo);
BENCHMARK(fair_queue)->Arg(1)->Arg(16)->Arg(64);

} // namespace

BENCHMARK_MAIN();
