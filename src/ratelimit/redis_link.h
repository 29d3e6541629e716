// What both Redis-backed limiters share: the endpoint parsed from redis://..., one blocking hiredis
// connection opened with AUTH/SELECT and timeouts, commands as argument vectors, and the outage tracker
// that logs each outage and its end once and keeps the repotokens_ratelimit_redis_* metrics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "ratelimit/limiter.h"

struct redisContext;
struct redisReply;

namespace rt {

// Where a limiter connects, parsed from redis://[:PASSWORD@]HOST[:PORT][/DB].
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int database = 0;
  // "redis://HOST:PORT/DB", without the password: for log lines.
  std::string describe() const;
};
// `invalid` with a message naming the expected form (and never the password) when the URL is malformed.
Result<RedisEndpoint> parse_redis_url(std::string_view url);

namespace redis {

// A fail-closed limiter's answer during an outage: refused as unavailable (the caller answers 503), to be
// retried after `retry_after` seconds.
RateLimitDecision unavailable_decision(double retry_after);
// "<rule>:<key>": how every Redis-backed limiter names a key's state (under its key prefix in Redis).
std::string qualified_key(const RateLimitRule& rule, std::string_view key);

using ReplyPtr = std::unique_ptr<redisReply, void (*)(void*)>;

// A connected context with both timeouts set, authenticated and on the endpoint's database; the caller
// owns it (redisFree). `unavailable` with hiredis's reason when Redis cannot be reached or refuses.
Result<redisContext*> connect(const RedisEndpoint& endpoint, std::chrono::milliseconds connect_timeout,
                              std::chrono::milliseconds command_timeout);
// One command, binary-safe; a null reply means the connection failed (c->errstr says why).
ReplyPtr command(redisContext* c, const std::vector<std::string>& args);
// Queues a command for a pipeline; its reply comes from next_reply() in order.
void append(redisContext* c, const std::vector<std::string>& args);
ReplyPtr next_reply(redisContext* c);
// Why a call failed: the connection's error, Redis's error reply, or an unexpected reply type.
std::string describe_failure(redisContext* c, const redisReply* r);
// True for a NOSCRIPT error reply (Redis restarted and forgot a loaded script).
bool is_noscript(const redisReply* r);

// Outage bookkeeping for one limiter. Metrics (present from construction, so /metrics shows them at 0):
// repotokens_ratelimit_redis_failures_total, repotokens_ratelimit_redis_outages_total and the gauge
// repotokens_ratelimit_redis_down. Thread-safe.
class Outage {
 public:
  // `log` receives one line per outage begun and one per recovery; empty: a line on stderr.
  Outage(std::string where, bool fail_open, std::function<void(std::string_view)> log);
  // Counts a failed call; the first of an outage marks it down and logs why.
  void failed(const std::string& why);
  // Marks it up again; logs the recovery when it was down.
  void succeeded();
  bool down() const { return down_.load(); }

 private:
  std::string where_;
  bool fail_open_;
  std::function<void(std::string_view)> log_;
  std::atomic<bool> down_{false};
};

}  // namespace redis
}  // namespace rt
