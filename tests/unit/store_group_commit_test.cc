// The PostgreSQL store's group commit (store/postgres/group_commit.h) on its own, with a batch writer that
// only records what it was given: every item is written exactly once, items of one key never share a
// batch, no more batches run at once than allowed, and under load items do share batches.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "store/postgres/group_commit.h"

namespace rt::postgres {
namespace {

struct Item : GroupItem {
  int writes = 0;  // set by the batch writer
};

TEST(GroupCommitTest, WritesEveryItemOnceInBatchesOfDistinctKeysWithinTheRunnerBound) {
  constexpr int kRunners = 2, kThreads = 32, kEach = 25;
  constexpr std::size_t kMaxBatch = 8;
  std::mutex mu;
  std::vector<std::size_t> sizes;
  std::atomic<int> keys_shared{0};
  std::atomic<int> running{0}, most_running{0};
  GroupCommit group(kRunners, kMaxBatch, [&](std::vector<GroupItem*>& batch) {
    int now = ++running;
    for (int seen = most_running.load(); now > seen && !most_running.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a commit's sync
    std::set<std::int64_t> keys;
    for (GroupItem* item : batch) {
      keys_shared += keys.insert(item->key).second ? 0 : 1;
      ++static_cast<Item*>(item)->writes;
    }
    {
      std::lock_guard lock(mu);
      sizes.push_back(batch.size());
    }
    --running;
  });
  std::vector<std::vector<Item>> items(kThreads);
  for (auto& mine : items) mine = std::vector<Item>(kEach);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Item& item = items[t][i];
        item.key = (t + i) % 5;  // few keys: many items of one key are queued at once
        group.submit(item);
        EXPECT_TRUE(item.done);
        EXPECT_EQ(item.writes, 1);  // written before submit returned, and only once
      }
    });
  for (auto& th : threads) th.join();

  std::size_t total = 0, largest = 0;
  for (std::size_t s : sizes) {
    total += s;
    largest = std::max(largest, s);
    EXPECT_GE(s, 1u);
    EXPECT_LE(s, kMaxBatch);
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(keys_shared.load(), 0);
  EXPECT_LE(most_running.load(), kRunners);
  EXPECT_GT(largest, 1u) << "no two items ever shared a batch";
  EXPECT_LT(sizes.size(), static_cast<std::size_t>(kThreads * kEach) / 2);
}

TEST(GroupCommitTest, ALoneCallerRunsAtOnce) {
  int batches = 0;
  GroupCommit group(1, 64, [&](std::vector<GroupItem*>& batch) {
    ++batches;
    EXPECT_EQ(batch.size(), 1u);
  });
  for (int i = 0; i < 3; ++i) {
    Item item;
    group.submit(item);
    EXPECT_TRUE(item.done);
  }
  EXPECT_EQ(batches, 3);
}

}  // namespace
}  // namespace rt::postgres
