// Redis-backed GCRA. The script below is GcraLimiter::decide in integer microseconds (Lua numbers are
// doubles: exact to 2^53, i.e. for microsecond epochs but not nanosecond ones); the caller then runs
// decide() itself on the script's (tat, now) with the rule scaled to microseconds, which reproduces the
// script's verdict exactly and yields the same remaining/retry/reset figures as the in-process limiter.
#include "ratelimit/redis_limiter.h"

#include <hiredis/hiredis.h>

#include <algorithm>

namespace rt {
namespace {

constexpr const char* kScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local new_tat = tat + interval
if now < new_tat - tolerance then
  return {0, now, tat}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.floor((new_tat - now) / 1000) + 1)
return {1, now, tat}
)lua";

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The rule with time counted in microseconds: decide()'s `1e9 / rate` becomes `1e6 / rate`.
RateLimitRule in_microseconds(const RateLimitRule& rule) {
  RateLimitRule r = rule;
  r.rate_per_second = rule.rate_per_second * 1000;
  return r;
}

using redis::command;
using redis::describe_failure;
using redis::ReplyPtr;

}  // namespace

Result<std::unique_ptr<RedisLimiter>> RedisLimiter::create(std::string_view url, RedisLimiterOptions options) {
  RT_TRY(RedisEndpoint ep, parse_redis_url(url));
  if (options.max_connections < 1) return make_error(ErrorKind::invalid, "the Redis limiter needs a connection");
  return std::unique_ptr<RedisLimiter>(new RedisLimiter(std::move(ep), std::move(options)));
}

RedisLimiter::RedisLimiter(RedisEndpoint endpoint, RedisLimiterOptions options)
    : endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      outage_(endpoint_.host + ":" + std::to_string(endpoint_.port), options_.fail_open, options_.log) {}

std::string RedisLimiter::describe() const { return endpoint_.describe(); }

RedisLimiter::~RedisLimiter() {
  for (redisContext* c : idle_) redisFree(c);
}

Result<redisContext*> RedisLimiter::connection() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      redisContext* c = idle_.back();
      idle_.pop_back();
      return c;
    }
  }
  return redis::connect(endpoint_, options_.connect_timeout, options_.command_timeout);
}

void RedisLimiter::give_back(redisContext* c, bool healthy) {
  if (healthy && !c->err) {
    std::lock_guard lock(mu_);
    if (static_cast<int>(idle_.size()) < options_.max_connections) {
      idle_.push_back(c);
      return;
    }
  }
  redisFree(c);
}

std::string RedisLimiter::sha_for(redisContext* c) {
  {
    std::lock_guard lock(mu_);
    if (!sha_.empty()) return sha_;
  }
  ReplyPtr r = command(c, {"SCRIPT", "LOAD", kScript});
  if (!r || r->type != REDIS_REPLY_STRING) return "0";  // EVALSHA then says NOSCRIPT and EVAL takes over
  std::lock_guard lock(mu_);
  sha_.assign(r->str, r->len);
  return sha_;
}

std::optional<RateLimitDecision> RedisLimiter::ask_redis(std::string_view key, const RateLimitRule& rule,
                                                         std::string* why) {
  auto conn = connection();
  if (!conn.ok()) {
    *why = conn.error().message;
    return std::nullopt;
  }
  redisContext* c = *conn;
  // The same integers decide() computes, in microseconds.
  const RateLimitRule us = in_microseconds(rule);
  const double interval = 1e9 / us.rate_per_second;
  const std::string full_key = options_.key_prefix + redis::qualified_key(rule, key);
  const std::string interval_arg = std::to_string(static_cast<std::int64_t>(interval));
  const std::string tolerance_arg = std::to_string(static_cast<std::int64_t>(interval * rule.burst));
  ReplyPtr r = command(c, {"EVALSHA", sha_for(c), "1", full_key, interval_arg, tolerance_arg});
  if (redis::is_noscript(r.get()))
    r = command(c, {"EVAL", kScript, "1", full_key, interval_arg, tolerance_arg});  // a restarted Redis
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
    *why = describe_failure(c, r.get());
    give_back(c, false);
    return std::nullopt;
  }
  const bool allowed = r->element[0]->integer == 1;
  const std::int64_t now_us = r->element[1]->integer;
  std::int64_t tat_us = r->element[2]->integer;
  give_back(c, true);
  RateLimitDecision d = GcraLimiter::decide(tat_us, now_us, us);
  d.allowed = allowed;  // identical by construction; Redis's verdict is the one that was recorded
  d.retry_after *= 1000;  // decide() divided microseconds by 1e9
  d.reset_after *= 1000;
  return d;
}

RateLimitDecision RedisLimiter::fallback(std::string_view key, const RateLimitRule& rule) {
  if (options_.fail_open) return local_.check(key, rule);
  return redis::unavailable_decision(static_cast<double>(std::max<std::int64_t>(backoff_ms_.load(), 1000)) / 1000);
}

void RedisLimiter::on_failure(const std::string& why) {
  std::int64_t backoff = backoff_ms_.load();
  backoff = backoff == 0 ? options_.min_backoff.count() : std::min<std::int64_t>(backoff * 2, options_.max_backoff.count());
  backoff_ms_.store(backoff);
  next_probe_ns_.store(steady_ns() + backoff * 1'000'000);
  outage_.failed(why);
}

void RedisLimiter::on_success() {
  if (outage_.down()) backoff_ms_.store(0);
  outage_.succeeded();
}

RateLimitDecision RedisLimiter::check(std::string_view key, const RateLimitRule& rule) {
  if (!rule.enabled()) return RateLimitDecision{true, rule.burst, 0, 0};
  if (outage_.down()) {
    // One caller per backoff period probes Redis; everyone else decides locally at once.
    std::int64_t due = next_probe_ns_.load();
    std::int64_t now = steady_ns();
    if (now < due || !next_probe_ns_.compare_exchange_strong(due, now + options_.max_backoff.count() * 1'000'000))
      return fallback(key, rule);
  }
  std::string why;
  if (auto d = ask_redis(key, rule, &why)) {
    on_success();
    return *d;
  }
  on_failure(why);
  return fallback(key, rule);
}

}  // namespace rt
