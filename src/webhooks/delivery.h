// The webhook delivery worker (docs/webhooks.md): claims due events from the store's outbox, POSTs each to
// its webhook signed with HMAC-SHA256 of the raw body, and records the outcome — delivered, or a retry
// after an exponential, fully jittered delay, until the retry window ends and the webhook is marked failing.
// All its state is in the outbox, so a restart (or a kill) loses nothing; on PostgreSQL every node runs one
// and the store's claim gives each event to one of them at a time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <cstddef>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/secret.h"
#include "core/time.h"
#include "store/store.h"

typedef void CURL;  // libcurl's easy handle, as <curl/curl.h> declares it

namespace rt::webhooks {

struct WebhookWorkerOptions {
  double poll_interval = 1;        // seconds between looks at the outbox when nothing was due
  double retry_base = 10;          // seconds; the n-th retry waits uniform(0, min(retry_max, base * 2^(n-1)))
  double retry_max = 3600;
  double retry_window = 86400;     // seconds after the event; then it is given up and the webhook is failing
  double connect_timeout = 5;
  double timeout = 10;             // one POST in all
  std::size_t max_response = 64 * 1024;  // bytes of a receiver's answer read; the rest is not
  int threads = 2;                 // concurrent deliveries (each to a different webhook)
  int batch = 16;                  // webhooks whose events one thread claims at once
  int run = 64;                    // events of one webhook claimed and posted in a row (over one connection)
  // Where the worker says what an operator should know (an unreadable outbox, a webhook now failing);
  // the server passes its log. Never given a secret or a body.
  std::function<void(std::string_view)> warn = [](std::string_view) {};
};

// The hex HMAC-SHA256 of `body` under `secret`, as sent in X-Repotokens-Signature-256 after "sha256=".
std::string webhook_signature(std::string_view secret, std::string_view body);

// The delay before the attempt after `failures` failed ones (>= 1), with full jitter: uniform in
// [0, min(retry_max, retry_base * 2^(failures-1))] seconds, drawn from `random`.
double webhook_retry_delay(const WebhookWorkerOptions& options, int failures, RandomSource& random);

class WebhookWorker {
 public:
  WebhookWorker(Store& store, const SecretHasher& hasher, const Clock& clock, RandomSource& random,
                WebhookWorkerOptions options);
  ~WebhookWorker();  // stop()
  WebhookWorker(const WebhookWorker&) = delete;
  WebhookWorker& operator=(const WebhookWorker&) = delete;

  void start();
  // Ends the threads: an attempt in flight is abandoned (recorded as interrupted, due again at once), so
  // that SIGTERM is not held up by a slow receiver; what was not delivered stays in the outbox.
  void stop();

 private:
  void loop();
  // Posts a webhook's claimed run in order, stopping at the first event not delivered (the rest are released
  // to wait behind it), and records every outcome in one transaction.
  void deliver_run(CURL* curl, std::span<const DueWebhookEvent> run, UnixTime lease);
  // Posts one event with the thread's handle; the outcome to record (delivered, retry, given up, interrupted).
  WebhookAttempt attempt(CURL* curl, const DueWebhookEvent& event);
  void refresh_failing_gauge();

  Store& store_;
  const SecretHasher& hasher_;
  const Clock& clock_;
  RandomSource& random_;
  WebhookWorkerOptions options_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::mutex random_mutex_;
  std::vector<std::thread> threads_;
};

}  // namespace rt::webhooks
