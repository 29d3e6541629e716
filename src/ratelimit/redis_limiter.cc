// Redis-backed GCRA. The script below is GcraLimiter::decide in integer microseconds (Lua numbers are
// doubles: exact to 2^53, i.e. for microsecond epochs but not nanosecond ones); the caller then runs
// decide() itself on the script's (tat, now) with the rule scaled to microseconds, which reproduces the
// script's verdict exactly and yields the same remaining/retry/reset figures as the in-process limiter.
#include "ratelimit/redis_limiter.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "core/metrics.h"

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

constexpr const char* kFailures = "repotokens_ratelimit_redis_failures_total";
constexpr const char* kDown = "repotokens_ratelimit_redis_down";
constexpr const char* kOutages = "repotokens_ratelimit_redis_outages_total";

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

// The rule with time counted in microseconds: decide()'s `1e9 / rate` becomes `1e6 / rate`.
RateLimitRule in_microseconds(const RateLimitRule& rule) {
  RateLimitRule r = rule;
  r.rate_per_second = rule.rate_per_second * 1000;
  return r;
}

using ReplyPtr = std::unique_ptr<redisReply, void (*)(void*)>;

ReplyPtr command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  void* r = redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
  return ReplyPtr(static_cast<redisReply*>(r), freeReplyObject);
}

std::string describe_failure(redisContext* c, const redisReply* r) {
  if (!r) return c->errstr[0] ? c->errstr : "no reply";
  if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
  return "unexpected reply type " + std::to_string(r->type);
}

}  // namespace

Result<RedisEndpoint> parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  auto bad = [&](const std::string& why) {
    // The message repeats the URL for the operator, but never a password in it.
    std::string shown(url);
    if (auto at = shown.rfind('@'); at != std::string::npos && shown.starts_with(kScheme))
      shown.replace(kScheme.size(), at - kScheme.size(), "****");
    return make_error(ErrorKind::invalid,
                      "bad Redis URL \"" + shown + "\": " + why + "; expected redis://[:PASSWORD@]HOST[:PORT][/DB]");
  };
  if (url.substr(0, kScheme.size()) != kScheme) return bad("it must start with redis://");
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint ep;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    if (auto colon = auth.find(':'); colon != std::string_view::npos) auth = auth.substr(colon + 1);
    ep.password = std::string(auth);
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), ep.database);
      if (ec != std::errc() || p != db.data() + db.size() || ep.database < 0) return bad("the database is not a number");
    }
  }
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), ep.port);
    if (ec != std::errc() || p != port.data() + port.size() || ep.port < 1 || ep.port > 65535)
      return bad("the port is not a number from 1 to 65535");
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("no host");
  ep.host = std::string(rest);
  return ep;
}

Result<std::unique_ptr<RedisLimiter>> RedisLimiter::create(std::string_view url, RedisLimiterOptions options) {
  RT_TRY(RedisEndpoint ep, parse_redis_url(url));
  if (options.max_connections < 1) return make_error(ErrorKind::invalid, "the Redis limiter needs a connection");
  return std::unique_ptr<RedisLimiter>(new RedisLimiter(std::move(ep), std::move(options)));
}

RedisLimiter::RedisLimiter(RedisEndpoint endpoint, RedisLimiterOptions options)
    : endpoint_(std::move(endpoint)), options_(std::move(options)) {
  metrics::describe(kFailures, "counter", "Rate-limit calls to Redis that failed (the node fell back)");
  metrics::describe(kDown, "gauge", "1 while Redis is unreachable and rate limits are per node or refused");
  metrics::describe(kOutages, "counter", "Redis outages seen by the rate limiter (each logged once)");
  metrics::set_gauge(kDown, {}, 0);
  metrics::add(kFailures, {}, 0);
  metrics::add(kOutages, {}, 0);
}

std::string RedisLimiter::describe() const {
  return "redis://" + endpoint_.host + ":" + std::to_string(endpoint_.port) + "/" + std::to_string(endpoint_.database);
}

RedisLimiter::~RedisLimiter() {
  for (redisContext* c : idle_) redisFree(c);
}

void RedisLimiter::log(const std::string& line) {
  if (options_.log)
    options_.log(line);
  else
    std::fprintf(stderr, "repotokensd: %s\n", line.c_str());
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
  redisContext* c = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, to_timeval(options_.connect_timeout));
  if (!c || c->err) {
    std::string why = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    return make_error(ErrorKind::unavailable, why);
  }
  redisSetTimeout(c, to_timeval(options_.command_timeout));
  std::vector<std::vector<std::string>> setup;
  if (!endpoint_.password.empty()) setup.push_back({"AUTH", endpoint_.password});
  if (endpoint_.database != 0) setup.push_back({"SELECT", std::to_string(endpoint_.database)});
  for (const auto& args : setup) {
    ReplyPtr r = command(c, args);
    if (!r || r->type == REDIS_REPLY_ERROR) {
      std::string why = args[0] + ": " + describe_failure(c, r.get());
      redisFree(c);
      return make_error(ErrorKind::unavailable, why);
    }
  }
  return c;
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
  const std::string full_key = options_.key_prefix + rule.name + ":" + std::string(key);
  const std::string interval_arg = std::to_string(static_cast<std::int64_t>(interval));
  const std::string tolerance_arg = std::to_string(static_cast<std::int64_t>(interval * rule.burst));
  ReplyPtr r = command(c, {"EVALSHA", sha_for(c), "1", full_key, interval_arg, tolerance_arg});
  if (r && r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).starts_with("NOSCRIPT"))
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
  RateLimitDecision d;
  d.allowed = false;
  d.unavailable = true;
  d.retry_after = static_cast<double>(std::max<std::int64_t>(backoff_ms_.load(), 1000)) / 1000;
  return d;
}

void RedisLimiter::on_failure(const std::string& why) {
  metrics::add(kFailures);
  std::int64_t backoff = backoff_ms_.load();
  backoff = backoff == 0 ? options_.min_backoff.count() : std::min<std::int64_t>(backoff * 2, options_.max_backoff.count());
  backoff_ms_.store(backoff);
  next_probe_ns_.store(steady_ns() + backoff * 1'000'000);
  if (!down_.exchange(true)) {
    metrics::set_gauge(kDown, {}, 1);
    metrics::add(kOutages);
    log("Redis at " + endpoint_.host + ":" + std::to_string(endpoint_.port) + " is unreachable (" + why + "); " +
        (options_.fail_open ? "rate limits are enforced per node until it returns"
                            : "refusing rate-limited requests until it returns (fail-closed)"));
  }
}

void RedisLimiter::on_success() {
  if (down_.exchange(false)) {
    backoff_ms_.store(0);
    metrics::set_gauge(kDown, {}, 0);
    log("Redis at " + endpoint_.host + ":" + std::to_string(endpoint_.port) + " is reachable again; rate limits are shared");
  }
}

RateLimitDecision RedisLimiter::check(std::string_view key, const RateLimitRule& rule) {
  if (!rule.enabled()) return RateLimitDecision{true, rule.burst, 0, 0};
  if (down_.load()) {
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
