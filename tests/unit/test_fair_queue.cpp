// The fair share of the bounded queues (fair_queue.hpp): turn by turn among clients, and no
// client fills a queue that others need; and the executor built on it.
#include <algorithm>
#include <atomic>
#include <functional>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "authd/core/fair_queue.hpp"
#include "authd/core/lanes.hpp"

namespace authd::core {
namespace {

void drain(FairQueue& q) {
  while (!q.empty()) {
    q.pop()();
  }
}

TEST(FairQueue, ClientsTakeTurns) {
  FairQueue q(64, 4);
  std::string order;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(q.push("flooder", [&order] { order += 'F'; }));
  }
  ASSERT_TRUE(q.push("owner", [&order] { order += 'o'; }));
  ASSERT_TRUE(q.push("third", [&order] { order += 't'; }));
  ASSERT_TRUE(q.push("owner", [&order] { order += 'o'; }));
  EXPECT_EQ(q.size(), 7u);
  drain(q);
  EXPECT_EQ(order, "FotFoFF") << "one job per client in turn, each client's jobs in their order";
}

TEST(FairQueue, NoClientFillsIt) {
  FairQueue q(16, 2);
  int taken = 0;
  while (q.push("flooder", [] {})) {
    ++taken;
  }
  EXPECT_EQ(taken, 8) << "alone, a client may fill half the queue, no more";
  for (int c = 0; c < 4; ++c) {
    const std::string key = "client" + std::to_string(c);
    EXPECT_TRUE(q.push(key, [] {})) << key;
    EXPECT_TRUE(q.push(key, [] {})) << key;
    EXPECT_FALSE(q.push(key, [] {})) << key << ": past half full, each client keeps at most its share";
  }
  EXPECT_EQ(q.size(), 16u);
  EXPECT_FALSE(q.push("latecomer", [] {})) << "full is full";
  q.pop()(); // the flooder's turn
  EXPECT_FALSE(q.push("flooder", [] {}));
  EXPECT_TRUE(q.push("latecomer", [] {})) << "the room the flooder's job left is another client's";
}

TEST(FairQueue, AnEmptiedClientStartsAfresh) {
  FairQueue q(4, 1);
  ASSERT_TRUE(q.push("a", [] {}));
  ASSERT_TRUE(q.push("a", [] {}));
  EXPECT_FALSE(q.push("a", [] {})) << "half full and a has its share";
  q.pop()();
  q.pop()();
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.push("a", [] {}));
}

// Occupies the executor's only thread until `release` counts down (`started`: a latch of 1 that
// outlives the executor, as `release` does: the job still touches both after the wait ends).
void hold_the_only_thread(LanedExecutor& exec, std::latch& started, std::latch& release) {
  ASSERT_TRUE(exec.submit(Lane::priority, [&] {
    started.count_down();
    release.wait();
  }, "flooder"));
  started.wait();
}

// Which jobs ran, in order, recorded from the executor's threads.
struct Ran {
  std::mutex m;
  std::vector<std::string> names;
  std::function<void()> job(std::string who) {
    return [this, who = std::move(who)] {
      std::lock_guard lock(m);
      names.push_back(who);
    };
  }
  std::vector<std::string> so_far() {
    std::lock_guard lock(m);
    return names;
  }
};

// The executor: one client's backlog of slow jobs does not delay another client's job behind
// it, nor refuse it.
TEST(LanedExecutorFairness, AnotherClientsJobRunsNextNotAfterTheBacklog) {
  Ran ran; // before the executor: its destructor runs the jobs still queued, which record here
  std::latch started(1), release(1), owner_ran(1);
  std::size_t flooders_before = 0;
  LanedExecutor exec(1, 16, 1);
  hold_the_only_thread(exec, started, release);
  int queued = 0;
  for (int i = 0; i < 20; ++i) {
    queued += exec.submit(Lane::priority, ran.job("flooder"), "flooder") ? 1 : 0;
  }
  EXPECT_EQ(queued, 8) << "the flooder's backlog stops at half the lane";
  ASSERT_TRUE(exec.submit(Lane::priority, [&] {
    flooders_before = ran.so_far().size();
    owner_ran.count_down();
  }, "owner")) << "another client is not refused";
  release.count_down();
  owner_ran.wait();
  EXPECT_LE(flooders_before, 1u) << "the owner's job ran after at most one of the flooder's 8 queued jobs";
}

// Found by the second attack review: suspect jobs ran only when the priority lane was empty, so
// one client keeping the priority lane busy (right passwords of its own) starved, for as long as
// it went on, the next login of any user who had mistyped once. Now a suspect job waits at most
// k_suspect_turn - 1 priority jobs.
TEST(LanedExecutorFairness, AStreamOfPriorityJobsDoesNotStarveTheSuspectLane) {
  Ran ran; // before the executor: its destructor runs the jobs still queued, which record here
  std::latch started(1), release(1), done(1);
  LanedExecutor exec(1, 64, 1);
  hold_the_only_thread(exec, started, release);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(exec.submit(Lane::priority, ran.job("flooder"), "flooder"));
  }
  ASSERT_TRUE(exec.submit(Lane::suspect, ran.job("mistyped"), "198.51.100.7"));
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(exec.submit(Lane::priority, ran.job("flooder"), "flooder" + std::to_string(i)));
  }
  ASSERT_TRUE(exec.submit(Lane::suspect, [&] { done.count_down(); }, "zz"));
  release.count_down();
  done.wait();
  const std::vector<std::string> order = ran.so_far();
  const auto at = std::find(order.begin(), order.end(), "mistyped") - order.begin();
  ASSERT_LT(static_cast<std::size_t>(at), order.size()) << "the suspect job ran";
  EXPECT_LE(at, 3) << "after at most 3 of the 23 priority jobs queued before and around it";
}

} // namespace
} // namespace authd::core
