// A background thread that runs one task at a fixed interval until it is destroyed: the service's
// housekeeping (the lastUsedAt writer, the purge of expired CI tokens) each runs on one of its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace rt {

class PeriodicTask {
 public:
  // Runs `task` first after `first_delay`, then every `interval` (measured from the end of a run).
  PeriodicTask(std::chrono::milliseconds first_delay, std::chrono::milliseconds interval,
               std::function<void()> task);
  // Wakes the thread and joins it; a run in progress finishes first, no further run starts.
  ~PeriodicTask();
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

 private:
  void loop(std::chrono::milliseconds first_delay);
  std::chrono::milliseconds interval_;
  std::function<void()> task_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything it reads is set
};

}  // namespace rt
