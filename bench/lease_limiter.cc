// Design A (leases) for the comparison benchmark: the same Redis keys and TAT values as RedisLimiter and
// SharedLimiter, so that a lease is a block of GCRA admissions taken from the shared state at once.
#include "lease_limiter.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cmath>

namespace rt {
namespace {

// Per key five ARGV: tokens wanted, admissions to charge (credit), tokens given back, interval and
// tolerance (µs). Each key answers {granted, TAT - now}.
constexpr const char* kScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i, key in ipairs(KEYS) do
  local b = 5 * (i - 1)
  local want, charge, back = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local interval, tolerance = tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5])
  local stored = redis.call('GET', key)
  local tat = now
  if stored then tat = math.max(tonumber(stored), now) end
  tat = math.max(tat - back * interval, now) + charge * interval
  local granted = want
  if interval > 0 then granted = math.max(0, math.min(want, math.floor((now + tolerance - tat) / interval))) end
  tat = tat + granted * interval
  if tat > now then
    redis.call('SET', key, string.format('%d', tat), 'PX', math.floor((tat - now) / 1000) + 1)
  else
    redis.call('DEL', key)
  end
  out[2 * i - 1] = granted
  out[2 * i] = tat - now
end
return out
)lua";

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<LeaseLimiter>> LeaseLimiter::create(std::string_view url, LeaseLimiterOptions options) {
  RT_TRY(RedisEndpoint ep, parse_redis_url(url));
  return std::unique_ptr<LeaseLimiter>(new LeaseLimiter(std::move(ep), std::move(options)));
}

LeaseLimiter::LeaseLimiter(RedisEndpoint endpoint, LeaseLimiterOptions options)
    : endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      outage_(endpoint_.host + ":" + std::to_string(endpoint_.port), options_.fail_open, {}) {
  thread_ = std::thread([this] { run(); });
}

LeaseLimiter::~LeaseLimiter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (conn_) redisFree(conn_);
}

void LeaseLimiter::queue_locked(Shard& shard, const std::string& key, Entry& e, bool wake) {
  if (e.queued) return;
  e.queued = true;
  shard.queue.push_back(key);
  if (wake) {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    wake_.notify_one();
  }
}

RateLimitDecision LeaseLimiter::check(std::string_view key, const RateLimitRule& rule) {
  if (!rule.enabled()) return RateLimitDecision{true, rule.burst, 0, 0};
  if (outage_.down()) {
    return options_.fail_open ? local_.check(key, rule) : redis::unavailable_decision(1);
  }
  std::string full = redis::qualified_key(rule, key);
  Shard& shard = shards_[std::hash<std::string>{}(full) % kShards];
  std::lock_guard lock(shard.mu);
  const std::int64_t now = steady_ns();
  Entry& e = shard.entries[full];
  const double interval_us = 1e6 / rule.rate_per_second;
  e.interval_us = static_cast<std::int64_t>(interval_us);
  e.tolerance_us = static_cast<std::int64_t>(interval_us * rule.burst);
  e.want = std::clamp<std::int64_t>(
      static_cast<std::int64_t>(std::ceil(rule.rate_per_second * options_.lease_span.count() / 1000.0)), 1,
      std::max<std::int64_t>(1, static_cast<std::int64_t>(rule.burst * options_.lease_burst_share)));
  e.last_use_ns = now;
  RateLimitDecision d;
  if (e.tokens > 0) {
    --e.tokens;
    d.allowed = true;
    d.remaining = e.tokens;
    if (e.tokens <= e.want / 2) queue_locked(shard, full, e, /*wake=*/true);
    return d;
  }
  if (!e.leased_ever && e.credit == 0) {  // a cold key: once on credit
    e.credit = 1;
    d.allowed = true;
    queue_locked(shard, full, e, /*wake=*/true);
    return d;
  }
  queue_locked(shard, full, e, /*wake=*/false);  // renewed at the next tick
  d.allowed = false;
  d.retry_after = std::max(static_cast<double>(e.refused_until_ns - now) / 1e9, interval_us / 1e6);
  return d;
}

std::vector<LeaseLimiter::Ask> LeaseLimiter::collect(bool everything) {
  std::vector<Ask> asks;
  const std::int64_t now = steady_ns();
  const std::int64_t idle_ns = options_.idle_return.count() * 1'000'000;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const std::string& key : shard.queue) {
      Entry& e = shard.entries[key];
      e.queued = false;
      if (everything) continue;  // the credit is charged below with the tokens given back
      asks.push_back(Ask{key, e.want, e.credit, 0, e.interval_us, e.tolerance_us});
      e.credit = 0;
      e.leased_ever = true;
    }
    shard.queue.clear();
    // Unused tokens go back when the key has gone idle here (or at shutdown), so other nodes can use them.
    for (auto it = shard.entries.begin(); it != shard.entries.end();) {
      Entry& e = it->second;
      if ((everything || now - e.last_use_ns > idle_ns) && (e.tokens > 0 || e.credit > 0)) {
        asks.push_back(Ask{it->first, 0, e.credit, e.tokens, e.interval_us, e.tolerance_us});
        e.tokens = e.credit = 0;
      }
      if (!everything && !e.queued && e.tokens == 0 && now - e.last_use_ns > 10 * idle_ns)
        it = shard.entries.erase(it);
      else
        ++it;
    }
  }
  return asks;
}

bool LeaseLimiter::send(const std::vector<Ask>& asks, std::string* why) {
  if (!conn_) {
    auto c = redis::connect(endpoint_, options_.connect_timeout, options_.command_timeout);
    if (!c.ok()) {
      *why = c.error().message;
      return false;
    }
    conn_ = *c;
    redis::ReplyPtr r = redis::command(conn_, {"SCRIPT", "LOAD", kScript});
    if (!r || r->type != REDIS_REPLY_STRING) {
      *why = redis::describe_failure(conn_, r.get());
      redisFree(conn_);
      conn_ = nullptr;
      return false;
    }
    sha_.assign(r->str, r->len);
  }
  if (asks.empty()) {  // a probe during an outage
    redis::ReplyPtr r = redis::command(conn_, {"PING"});
    if (r && r->type == REDIS_REPLY_STATUS) return true;
    *why = redis::describe_failure(conn_, r.get());
    redisFree(conn_);
    conn_ = nullptr;
    return false;
  }
  std::vector<std::string> args{"EVALSHA", sha_, std::to_string(asks.size())};
  for (const Ask& a : asks) args.push_back(options_.key_prefix + a.key);
  for (const Ask& a : asks)
    for (std::int64_t v : {a.want, a.charge, a.give_back, a.interval_us, a.tolerance_us}) args.push_back(std::to_string(v));
  redis::ReplyPtr r = redis::command(conn_, args);
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 * asks.size()) {
    *why = redis::describe_failure(conn_, r.get());
    redisFree(conn_);
    conn_ = nullptr;
    return false;
  }
  const std::int64_t now = steady_ns();
  for (size_t i = 0; i < asks.size(); ++i) {
    if (asks[i].want == 0) continue;
    Shard& shard = shards_[std::hash<std::string>{}(asks[i].key) % kShards];
    std::lock_guard lock(shard.mu);
    auto it = shard.entries.find(asks[i].key);
    if (it == shard.entries.end()) continue;
    Entry& e = it->second;
    const std::int64_t granted = r->element[2 * i]->integer, ahead_us = r->element[2 * i + 1]->integer;
    e.tokens += granted;
    e.refused_until_ns = now + (ahead_us - e.tolerance_us + e.interval_us) * 1000;
  }
  return true;
}

void LeaseLimiter::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait_for(lock, options_.tick, [&] { return stopping_ || woken_; });
    const bool stop = stopping_;
    woken_ = false;
    lock.unlock();
    std::vector<Ask> asks = collect(stop);
    std::string why;
    if (asks.empty() && outage_.down()) {  // probe: one PING per tick until Redis answers
      if (send(asks, &why))
        outage_.succeeded();
      else
        outage_.failed(why);
    }
    for (size_t from = 0; from < asks.size(); from += 256) {
      std::vector<Ask> chunk(asks.begin() + from, asks.begin() + std::min(asks.size(), from + 256));
      if (!send(chunk, &why)) {
        outage_.failed(why);
        break;
      }
      outage_.succeeded();
    }
    if (stop) return;
    lock.lock();
  }
}

}  // namespace rt
