// The expiry scheduler (docs/webhooks.md, "Expiry notices"): a thread that asks the store, every scan
// interval, to announce the token.expiring / token.expired notices that have fallen due. The store finds
// them through indexes and writes each notice to the outbox with its "sent" mark in one transaction; on
// PostgreSQL one node at a time scans (an advisory lock), so every node may run a scheduler.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "core/time.h"
#include "store/store.h"

namespace rt::webhooks {

struct ExpirySchedulerOptions {
  std::vector<std::int64_t> windows{7 * 86400, 86400};  // seconds before expiry, descending
  double interval = 60;                                  // seconds between scans
  int batch = 500;                                       // tokens per lookup of one scan transaction
  std::function<void(std::string_view)> warn = [](std::string_view) {};
};

class ExpiryScheduler {
 public:
  ExpiryScheduler(Store& store, const Clock& clock, ExpirySchedulerOptions options);
  ~ExpiryScheduler();  // stop()
  ExpiryScheduler(const ExpiryScheduler&) = delete;
  ExpiryScheduler& operator=(const ExpiryScheduler&) = delete;

  void start();
  // Waits for a scan in progress to commit (a short transaction), then ends the thread.
  void stop();

 private:
  void loop();

  Store& store_;
  const Clock& clock_;
  ExpirySchedulerOptions options_;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace rt::webhooks
