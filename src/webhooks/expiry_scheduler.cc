// The expiry scheduler's thread (webhooks/expiry_scheduler.h): the rule and the SQL are the store's; this
// only keeps time, repeats a scan that found a full batch, and says when the store cannot be read.
#include "webhooks/expiry_scheduler.h"

#include <chrono>
#include <string>

namespace rt::webhooks {

ExpiryScheduler::ExpiryScheduler(Store& store, const Clock& clock, ExpirySchedulerOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

ExpiryScheduler::~ExpiryScheduler() { stop(); }

void ExpiryScheduler::start() { thread_ = std::thread([this] { loop(); }); }

void ExpiryScheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ExpiryScheduler::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto advanced = store_.announce_token_expiry(clock_.now(), options_.windows, options_.batch);
    if (!advanced.ok()) options_.warn("expiry notices: cannot scan the tokens: " + advanced.error().message);
    lock.lock();
    // A full batch: more may be due at once (e.g. after an outage); otherwise wait for the next scan.
    if (advanced.ok() && *advanced >= options_.batch) continue;
    wake_.wait_for(lock, std::chrono::duration<double>(options_.interval), [this] { return stopping_; });
  }
}

}  // namespace rt::webhooks
