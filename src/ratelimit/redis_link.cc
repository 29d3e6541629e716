// Redis plumbing shared by the exact limiter (redis_limiter.cc) and the asynchronous one
// (shared_limiter.cc): URL parsing, connecting, commands and the outage log lines and metrics.
#include "ratelimit/redis_link.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdio>

#include "core/metrics.h"

namespace rt {
namespace {

constexpr const char* kFailures = "repotokens_ratelimit_redis_failures_total";
constexpr const char* kDown = "repotokens_ratelimit_redis_down";
constexpr const char* kOutages = "repotokens_ratelimit_redis_outages_total";

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

void argv_of(const std::vector<std::string>& args, std::vector<const char*>& argv, std::vector<size_t>& lens) {
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
}

}  // namespace

std::string RedisEndpoint::describe() const {
  return "redis://" + host + ":" + std::to_string(port) + "/" + std::to_string(database);
}

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

namespace redis {

RateLimitDecision unavailable_decision(double retry_after) {
  RateLimitDecision d;
  d.allowed = false;
  d.unavailable = true;
  d.retry_after = retry_after;
  return d;
}

std::string qualified_key(const RateLimitRule& rule, std::string_view key) {
  std::string full;
  full.reserve(rule.name.size() + 1 + key.size());
  full.append(rule.name).append(":").append(key);
  return full;
}

ReplyPtr command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv_of(args, argv, lens);
  void* r = redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
  return ReplyPtr(static_cast<redisReply*>(r), freeReplyObject);
}

void append(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv_of(args, argv, lens);
  redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
}

ReplyPtr next_reply(redisContext* c) {
  void* r = nullptr;
  if (redisGetReply(c, &r) != REDIS_OK) r = nullptr;
  return ReplyPtr(static_cast<redisReply*>(r), freeReplyObject);
}

std::string describe_failure(redisContext* c, const redisReply* r) {
  if (!r) return c->errstr[0] ? c->errstr : "no reply";
  if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
  return "unexpected reply type " + std::to_string(r->type);
}

bool is_noscript(const redisReply* r) {
  return r && r->type == REDIS_REPLY_ERROR && std::string_view(r->str, r->len).starts_with("NOSCRIPT");
}

Result<redisContext*> connect(const RedisEndpoint& endpoint, std::chrono::milliseconds connect_timeout,
                              std::chrono::milliseconds command_timeout) {
  redisContext* c = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, to_timeval(connect_timeout));
  if (!c || c->err) {
    std::string why = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    return make_error(ErrorKind::unavailable, why);
  }
  redisSetTimeout(c, to_timeval(command_timeout));
  std::vector<std::vector<std::string>> setup;
  if (!endpoint.password.empty()) setup.push_back({"AUTH", endpoint.password});
  if (endpoint.database != 0) setup.push_back({"SELECT", std::to_string(endpoint.database)});
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

Outage::Outage(std::string where, bool fail_open, std::function<void(std::string_view)> log)
    : where_(std::move(where)), fail_open_(fail_open), log_(std::move(log)) {
  metrics::describe(kFailures, "counter", "Rate-limit calls to Redis that failed (the node fell back)");
  metrics::describe(kDown, "gauge", "1 while Redis is unreachable and rate limits are per node or refused");
  metrics::describe(kOutages, "counter", "Redis outages seen by the rate limiter (each logged once)");
  metrics::set_gauge(kDown, {}, 0);
  metrics::add(kFailures, {}, 0);
  metrics::add(kOutages, {}, 0);
  if (!log_) log_ = [](std::string_view line) { std::fprintf(stderr, "repotokensd: %.*s\n", int(line.size()), line.data()); };
}

void Outage::failed(const std::string& why) {
  metrics::add(kFailures);
  if (down_.exchange(true)) return;
  metrics::set_gauge(kDown, {}, 1);
  metrics::add(kOutages);
  log_("Redis at " + where_ + " is unreachable (" + why + "); " +
       (fail_open_ ? "rate limits are enforced per node until it returns"
                   : "refusing rate-limited requests until it returns (fail-closed)"));
}

void Outage::succeeded() {
  if (!down_.exchange(false)) return;
  metrics::set_gauge(kDown, {}, 0);
  log_("Redis at " + where_ + " is reachable again; rate limits are shared");
}

}  // namespace redis
}  // namespace rt
