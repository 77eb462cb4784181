// The bounded executors under the core (the two verify lanes, the verify pool) and the metrics
// registry's bound on client-chosen labels.
#include <atomic>
#include <future>
#include <latch>
#include <thread>

#include <gtest/gtest.h>

#include "core_fixture.hpp"

namespace authd::core {
namespace {

TEST(Metrics, ClientChosenLabelsCannotGrowItWithoutBound) {
  Metrics m;
  for (int i = 0; i < 5000; ++i) {
    m.add("authd_logins_total", {{"service", "svc" + std::to_string(i)}, {"outcome", "rejected"}});
  }
  EXPECT_EQ(m.value("authd_logins_total", {{"service", "svc1"}, {"outcome", "rejected"}}), 1);
  const std::string text = m.render();
  EXPECT_LT(text.size(), 200000u);
  EXPECT_NE(text.find("authd_logins_total{overflow=\"true\"} 4000"), std::string::npos);
}

// A client flooding wrong logins under invented service names fills the budget first; the real
// service that then logs someone in still gets its own series, for its successes and failures.
TEST(Metrics, InventedServiceNamesCannotCrowdOutARealService) {
  Metrics m;
  for (int i = 0; i < 2000; ++i) {
    m.login("made-up-" + std::to_string(i), "none", "rejected");
  }
  EXPECT_EQ(m.value("authd_logins_total", {{"service", "made-up-0"}, {"scheme", "none"}, {"outcome", "rejected"}}), 1);
  EXPECT_EQ(m.value("authd_logins_total", {{"service", "made-up-31"}, {"scheme", "none"}, {"outcome", "rejected"}}), 1);
  EXPECT_EQ(m.value("authd_logins_total", {{"service", "made-up-32"}, {"scheme", "none"}, {"outcome", "rejected"}}), 0);
  EXPECT_EQ(m.value("authd_logins_total", {{"service", "other"}, {"scheme", "none"}, {"outcome", "rejected"}}), 1968);
  m.login("imap", "none", "rejected"); // not yet seen succeed: past the budget it is "other" too
  m.login("imap", "bcrypt", "ok");
  m.login("imap", "none", "rejected");
  m.login("made-up-5", "bcrypt", "ok"); // a name with a success keeps its series
  EXPECT_EQ(m.value("authd_logins_total", {{"service", "imap"}, {"scheme", "bcrypt"}, {"outcome", "ok"}}), 1);
  EXPECT_EQ(m.value("authd_logins_total", {{"service", "imap"}, {"scheme", "none"}, {"outcome", "rejected"}}), 1);
  EXPECT_EQ(m.value("authd_logins_total", {{"service", "other"}, {"scheme", "none"}, {"outcome", "rejected"}}), 1969);
  EXPECT_EQ(m.value("authd_logins_total", {{"service", "made-up-5"}, {"scheme", "bcrypt"}, {"outcome", "ok"}}), 1);
  EXPECT_EQ(m.render().find("overflow"), std::string::npos) << "34 names and other: far from the series budget";
}

TEST(LanedExecutor, PriorityFirstAndSuspectsCannotTakeEveryThread) {
  LanedExecutor exec(2, 8, 1);
  std::latch release(1);
  std::atomic<int> suspects_running{0}, peak{0};
  std::atomic<int> done{0};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(exec.submit(Lane::suspect, [&] {
      peak = std::max(peak.load(), ++suspects_running);
      release.wait();
      --suspects_running;
      ++done;
    }));
  }
  while (suspects_running.load() == 0) { // a suspect holds its thread (the one not reserved)
    std::this_thread::yield();
  }
  std::latch ran(1);
  ASSERT_TRUE(exec.submit(Lane::priority, [&] { ran.count_down(); }));
  ran.wait(); // the reserved thread serves the priority lane while suspects block the other
  EXPECT_EQ(peak.load(), 1) << "suspects never took the reserved thread";
  release.count_down();
  while (done < 4) {
    std::this_thread::yield();
  }
  int refused = 0;
  for (int i = 0; i < 12; ++i) { // one thread for suspects, 8 places: some of 12 slow jobs are refused
    refused += exec.submit(Lane::suspect, [] { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }) ? 0 : 1;
  }
  EXPECT_GT(refused, 0) << "a full suspect lane refuses";
  EXPECT_TRUE(exec.submit(Lane::priority, [] {})) << "while the priority lane still takes work";
}

TEST(VerifyPool, FullQueueFailsFastWithATemporaryError) {
  VerifyPool pool(1, 1);
  std::latch release(1);
  std::latch started(1);
  auto busy = std::async(std::launch::async, [&] {
    return pool.run([&] {
      started.count_down();
      release.wait();
    });
  });
  started.wait(); // the only thread is busy
  auto queued = std::async(std::launch::async, [&] { return pool.run([] {}); });
  while (pool.queued() < 1) {
    std::this_thread::yield();
  }
  auto refused = pool.run([] {});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::temporary);
  release.count_down();
  EXPECT_TRUE(busy.get());
  EXPECT_TRUE(queued.get());
}

} // namespace
} // namespace authd::core
