// PeriodicTask: a thread waiting on a condition variable between runs, so that destruction never waits
// for a whole interval.
#include "service/periodic.h"

namespace rt {

PeriodicTask::PeriodicTask(std::chrono::milliseconds first_delay, std::chrono::milliseconds interval,
                           std::function<void()> task)
    : interval_(interval), task_(std::move(task)), thread_([this, first_delay] { loop(first_delay); }) {}

PeriodicTask::~PeriodicTask() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PeriodicTask::loop(std::chrono::milliseconds delay) {
  std::unique_lock lock(mu_);
  for (;;) {
    if (cv_.wait_for(lock, delay, [this] { return stopping_; })) return;
    lock.unlock();
    task_();
    lock.lock();
    delay = interval_;
  }
}

}  // namespace rt
