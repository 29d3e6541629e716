// Group commit for one kind of PostgreSQL write (token creation): callers queue an item and wait, and at
// most `runners` of the waiting callers at a time each take what is queued and write it as one batch, in
// one transaction and one commit, on their own thread. A caller that finds a runner slot free runs at once
// (no waiting for company when the load is light); under load the items that arrive while the runners'
// commits sync form the next batches.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <unordered_set>
#include <vector>

namespace rt::postgres {

// An item's place in the queue. `key`: no two items with one key go into the same batch (the batch's
// statements treat its items as independent, so items on one repository take turns).
struct GroupItem {
  std::int64_t key = 0;
  bool queued = false;  // in the queue, not yet taken into a batch (under the queue's lock)
  bool done = false;    // its batch has been written or has failed (under the queue's lock)
  std::condition_variable cv;
};

class GroupCommit {
 public:
  // run_batch writes the items and records each one's outcome in the item (it never throws).
  using RunBatch = std::function<void(std::vector<GroupItem*>&)>;
  GroupCommit(int runners, std::size_t max_batch, RunBatch run_batch)
      : runners_(runners < 1 ? 1 : runners), max_batch_(max_batch < 1 ? 1 : max_batch), run_(std::move(run_batch)) {}

  // Queues `item` and returns once a batch holding it has been written (or has failed).
  void submit(GroupItem& item) {
    std::unique_lock lock(mu_);
    item.queued = true;
    queue_.push_back(&item);
    while (!item.done) {
      // Run a batch only while our own item waits for one: once another runner has taken it, wait for it.
      if (!item.queued || running_ >= runners_) {
        item.cv.wait(lock);
        continue;
      }
      ++running_;
      std::vector<GroupItem*> batch = take();
      // Another slot is free and items are left (one per key, or over max_batch): wake their oldest caller.
      if (!queue_.empty() && running_ < runners_) queue_.front()->cv.notify_one();
      lock.unlock();
      run_(batch);
      lock.lock();
      --running_;
      for (GroupItem* done : batch) {
        done->done = true;
        if (done != &item) done->cv.notify_one();
      }
      // The slot is free again: hand it to the oldest caller still waiting (or take it ourselves).
      if (!queue_.empty() && queue_.front() != &item) queue_.front()->cv.notify_one();
    }
  }

 private:
  // Up to max_batch_ queued items, oldest first, one per key; the rest stay queued in their order.
  std::vector<GroupItem*> take() {
    std::vector<GroupItem*> batch;
    std::unordered_set<std::int64_t> keys;
    for (auto it = queue_.begin(); it != queue_.end() && batch.size() < max_batch_;) {
      if (keys.insert((*it)->key).second) {
        (*it)->queued = false;
        batch.push_back(*it);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    return batch;
  }

  const int runners_;
  const std::size_t max_batch_;
  RunBatch run_;
  std::mutex mu_;
  std::deque<GroupItem*> queue_;
  int running_ = 0;
};

}  // namespace rt::postgres
