// The webhook delivery worker (see webhook_delivery.h): libcurl for the POST (http/https only, no
// redirects, connect and total timeouts, a cap on the answer read), OpenSSL's HMAC for the signature.
#include "webhooks/delivery.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "core/metrics.h"

namespace rt::webhooks {
namespace {

constexpr UnixTime kLeaseSlack = 30;  // seconds beyond the POST timeout a claim is held

struct Transfer {
  std::size_t received = 0;
  std::size_t cap = 0;
  const std::atomic<bool>* stopping = nullptr;
};

size_t discard_capped(char*, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->received += size * n;
  // Past the cap the transfer ends (the status is already known): a receiver cannot make us read forever.
  return t->received > t->cap ? 0 : size * n;
}

int abort_when_stopping(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->stopping->load() ? 1 : 0;
}

struct Outcome {
  std::optional<int> status;
  std::string error;
  int latency_ms = 0;
  bool interrupted = false;
};

// `curl` is the calling thread's own handle: reset before each POST, it keeps its connection cache, so
// consecutive POSTs to one receiver reuse a keep-alive connection instead of connecting each time.
Outcome post(CURL* c, const WebhookWorkerOptions& o, const std::atomic<bool>& stopping, const std::string& url,
             const WebhookDelivery& d, const std::string& signature) {
  Outcome out;
  if (!c) {
    out.error = "cannot start an HTTP transfer";
    return out;
  }
  curl_easy_reset(c);
  curl_slist* raw_headers = nullptr;
  for (const std::string& h :
       {std::string("Content-Type: application/json"), std::string("User-Agent: repotokensd-webhooks"),
        "X-Repotokens-Event: " + d.event, "X-Repotokens-Delivery: " + d.delivery_id,
        "X-Repotokens-Signature-256: sha256=" + signature, std::string("Expect:")})
    raw_headers = curl_slist_append(raw_headers, h.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(raw_headers, curl_slist_free_all);
  Transfer transfer{.received = 0, .cap = o.max_response, .stopping = &stopping};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, d.body.c_str());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(d.body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout * 1000));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout * 1000));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_capped);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_when_stopping);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  const auto start = std::chrono::steady_clock::now();
  CURLcode rc = curl_easy_perform(c);
  out.latency_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (code > 0) out.status = static_cast<int>(code);
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    out.interrupted = true;
    out.error = "interrupted: the server was stopping";
  } else if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && out.status)) {
    out.error = curl_easy_strerror(rc);
  }
  return out;
}

}  // namespace

std::string webhook_signature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  return to_hex(std::span<const std::uint8_t>(mac, len));
}

double webhook_retry_delay(const WebhookWorkerOptions& o, int failures, RandomSource& random) {
  const double ceiling = std::min(o.retry_max, o.retry_base * std::pow(2.0, std::max(0, failures - 1)));
  std::uint8_t bytes[4];
  random.fill(bytes);
  const std::uint32_t r = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (static_cast<std::uint32_t>(bytes[3]) << 24);
  return ceiling * (static_cast<double>(r) / 4294967295.0);
}

WebhookWorker::WebhookWorker(Store& store, const SecretHasher& hasher, const Clock& clock, RandomSource& random,
                             WebhookWorkerOptions options)
    : store_(store), hasher_(hasher), clock_(clock), random_(random), options_(options) {
  metrics::describe("repotokens_webhook_deliveries_total", "counter",
                    "Webhook delivery attempts by outcome (delivered, retry, failed, interrupted)");
  metrics::describe("repotokens_webhooks_failing", "gauge",
                    "Webhooks with an event undelivered for the whole retry window");
}

WebhookWorker::~WebhookWorker() { stop(); }

void WebhookWorker::start() {
  refresh_failing_gauge();
  for (int i = 0; i < std::max(1, options_.threads); ++i) threads_.emplace_back([this] { loop(); });
}

void WebhookWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void WebhookWorker::refresh_failing_gauge() {
  if (auto n = store_.count_failing_webhooks(); n.ok())
    metrics::set_gauge("repotokens_webhooks_failing", "", static_cast<double>(*n));
}

void WebhookWorker::loop() {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  while (!stopping_) {
    const UnixTime now = clock_.now();
    const UnixTime lease = now + static_cast<UnixTime>(std::ceil(options_.timeout)) + kLeaseSlack;
    auto claimed = store_.claim_webhook_events(now, lease, options_.batch, options_.run);
    if (!claimed.ok()) options_.warn("webhook delivery: cannot read the outbox: " + claimed.error().message);
    bool any = claimed.ok() && !claimed->empty();
    if (claimed.ok()) {
      // Each webhook's run is contiguous in the claim, in order.
      std::span<const DueWebhookEvent> all(*claimed);
      for (std::size_t i = 0; i < all.size();) {
        std::size_t j = i + 1;
        while (j < all.size() && all[j].delivery.webhook_id == all[i].delivery.webhook_id) ++j;
        deliver_run(curl.get(), all.subspan(i, j - i), lease);
        i = j;
      }
    }
    if (any) continue;  // more may be due
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::duration<double>(options_.poll_interval), [this] { return stopping_.load(); });
  }
}

void WebhookWorker::deliver_run(CURL* curl, std::span<const DueWebhookEvent> run, UnixTime lease) {
  std::vector<WebhookAttempt> attempts;
  attempts.reserve(run.size());
  bool blocked = false;  // an event of the run was not delivered: the later ones must wait behind it
  for (const DueWebhookEvent& e : run) {
    // Released untried (due again at once, still behind the undelivered one) when the run is blocked, the
    // server is stopping, or a full POST timeout would outlast the lease.
    const UnixTime now = clock_.now();
    if (blocked || stopping_ || now + static_cast<UnixTime>(std::ceil(options_.timeout)) >= lease) {
      attempts.push_back(WebhookAttempt{.event_row = e.delivery.id, .released = true, .at = now,
                                        .next_attempt_at = now});
      continue;
    }
    attempts.push_back(attempt(curl, e));
    blocked = !attempts.back().delivered;
  }
  if (auto recorded = store_.record_webhook_attempts(attempts); !recorded.ok())
    options_.warn(fmt::format("webhook {}: cannot record {} delivery attempts: {}", run.front().delivery.webhook_id,
                              attempts.size(), recorded.error().message));
  bool failing_changed = false;
  for (std::size_t i = 0; i < attempts.size(); ++i) {
    const WebhookAttempt& a = attempts[i];
    if (a.released) continue;
    const WebhookDelivery& d = run[i].delivery;
    if (!a.delivered && !a.next_attempt_at)
      options_.warn(fmt::format("webhook {} is failing: delivery {} ({}) undelivered for {} s", d.webhook_id,
                                d.delivery_id, d.event, static_cast<long>(options_.retry_window)));
    // A give-up marks the webhook failing; a delivery to a failing one clears the mark.
    failing_changed = failing_changed || (a.delivered ? run[i].webhook_failing : !a.next_attempt_at);
  }
  if (failing_changed) refresh_failing_gauge();
}

WebhookAttempt WebhookWorker::attempt(CURL* curl, const DueWebhookEvent& e) {
  const WebhookDelivery& d = e.delivery;
  WebhookAttempt attempt{.event_row = d.id, .at = clock_.now()};
  auto secret = hasher_.unseal(e.sealed_secret);
  Outcome outcome;
  if (!secret) {
    outcome.error = "the webhook's secret cannot be read with this server key";
  } else {
    outcome = post(curl, options_, stopping_, e.url, d, webhook_signature(*secret, d.body));
  }
  attempt.status = outcome.status;
  attempt.error = outcome.error;
  attempt.latency_ms = outcome.latency_ms;
  attempt.delivered = outcome.error.empty() && outcome.status && *outcome.status >= 200 && *outcome.status < 300;
  const char* result = "delivered";
  if (!attempt.delivered) {
    const UnixTime now = clock_.now();
    const UnixTime window_end = d.created_at + static_cast<UnixTime>(options_.retry_window);
    if (outcome.interrupted) {
      attempt.next_attempt_at = now;
      result = "interrupted";
    } else if (now >= window_end) {
      attempt.next_attempt_at = std::nullopt;  // given up: the webhook is marked failing
      result = "failed";
    } else {
      double delay;
      {
        std::lock_guard lock(random_mutex_);
        delay = webhook_retry_delay(options_, d.attempts + 1, random_);
      }
      attempt.next_attempt_at = std::min(window_end, now + std::max<UnixTime>(1, static_cast<UnixTime>(std::ceil(delay))));
      result = "retry";
    }
  }
  metrics::add("repotokens_webhook_deliveries_total", fmt::format("result=\"{}\"", result));
  return attempt;
}

}  // namespace rt::webhooks
