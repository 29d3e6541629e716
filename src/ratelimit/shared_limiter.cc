// Local GCRA decisions, reported to and corrected from Redis in the background. The Redis values are
// RedisLimiter's (a TAT in Redis microseconds under the same key), so nodes running either limiter share one
// budget. Why the correction is safe: Redis charges every reported admission unconditionally, so its TAT
// is the cluster's true consumption up to the last reports; a node moves its own TAT forward to it (plus
// what it admitted since its snapshot) and never back, so it refuses as soon as it knows the budget is gone.
#include "ratelimit/shared_limiter.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "ratelimit/gcra.h"

namespace rt {
namespace {

// KEYS[i] is charged ARGV[3i-2] admissions of ARGV[3i-1] µs each, the first of them made ARGV[3i] µs ago:
// they are charged as of then, not as of their arrival here, or a report delayed while the key's bucket
// refilled would charge them against budget that had not existed when they were admitted (and refuse
// that much too much). The reply is Redis's now, then for each key its TAT minus that now, all in µs.
constexpr const char* kScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {now}
for i, key in ipairs(KEYS) do
  local n = tonumber(ARGV[3 * i - 2])
  local interval = tonumber(ARGV[3 * i - 1])
  local since = now - tonumber(ARGV[3 * i])
  local stored = redis.call('GET', key)
  local tat = since
  if stored then tat = math.max(tonumber(stored), since) end
  if n > 0 and interval > 0 then
    tat = tat + n * interval
    if tat > now then
      redis.call('SET', key, string.format('%d', tat), 'PX', math.floor((tat - now) / 1000) + 1)
    end
  end
  out[i + 1] = math.max(tat - now, 0)
end
return out
)lua";

// Keys per script call: Redis runs a script to completion, so a long batch would stall other clients.
constexpr size_t kChunk = 256;
constexpr std::int64_t kSweepIntervalNs = 10'000'000'000;

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::unique_ptr<SharedLimiter>> SharedLimiter::create(std::string_view url, SharedLimiterOptions options) {
  RT_TRY(RedisEndpoint ep, parse_redis_url(url));
  if (options.sync_interval.count() < 1)
    return make_error(ErrorKind::invalid, "the shared limiter's sync interval must be at least 1 ms");
  return std::unique_ptr<SharedLimiter>(new SharedLimiter(std::move(ep), std::move(options)));
}

SharedLimiter::SharedLimiter(RedisEndpoint endpoint, SharedLimiterOptions options)
    : endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      outage_(endpoint_.host + ":" + std::to_string(endpoint_.port), options_.fail_open, options_.log) {
  thread_ = std::thread([this] { run(); });
}

SharedLimiter::~SharedLimiter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  drop_connection();
}

RateLimitDecision SharedLimiter::check(std::string_view key, const RateLimitRule& rule) {
  if (!rule.enabled()) return RateLimitDecision{true, rule.burst, 0, 0};
  if (!options_.fail_open && outage_.down())
    return redis::unavailable_decision(static_cast<double>(std::max<std::int64_t>(backoff_ms_.load(), 1000)) / 1000);
  std::string full = redis::qualified_key(rule, key);
  Shard& shard = shards_[std::hash<std::string>{}(full) % kShards];
  std::lock_guard lock(shard.mu);
  const std::int64_t now = steady_ns();  // under the lock, as in GcraLimiter::check
  if (now >= shard.next_sweep_ns) {
    // An entry whose TAT has passed, with nothing to report, has its full burst back: forgetting it
    // changes no decision of this node (the shared state stays in Redis).
    std::erase_if(shard.entries, [now](const auto& kv) { return kv.second.tat_ns <= now && !kv.second.queued; });
    shard.next_sweep_ns = now + kSweepIntervalNs;
  }
  auto [it, fresh] = shard.entries.try_emplace(full);
  Entry& e = it->second;
  if (fresh) e.tat_ns = now;
  const double interval_us = 1e6 / rule.rate_per_second;
  e.interval_us = static_cast<std::int64_t>(interval_us);
  e.tolerance_us = static_cast<std::int64_t>(interval_us * rule.burst);
  RateLimitDecision d = GcraLimiter::decide(e.tat_ns, now, rule);
  if (d.allowed) {
    if (e.pending++ == 0) e.first_pending_ns = now;
    if (!e.queued) {
      e.queued = true;
      shard.dirty.push_back(std::move(full));
    }
  }
  return d;
}

std::vector<SharedLimiter::Report> SharedLimiter::collect() {
  std::vector<Report> batch;
  const std::int64_t now = steady_ns();
  if (now >= next_watch_ns_) {
    next_watch_ns_ = now + options_.pull_interval.count() * 1'000'000;
    // Keys with part of their burst spent here are pulled even without admissions to report, so that
    // what other nodes admit reaches this node's refusals within a pull interval. At most one script
    // call's worth per pass, taken round the shards: the cost to Redis stays bounded (about 13,000 keys/s
    // per node) however many keys are active, and each key's turn comes within (keys / 256) passes.
    for (size_t n = 0; n < kShards && batch.size() < kChunk; ++n, watch_cursor_ = (watch_cursor_ + 1) % kShards) {
      Shard& shard = shards_[watch_cursor_];
      std::lock_guard lock(shard.mu);
      for (auto& [key, e] : shard.entries)
        if (!e.queued && e.tat_ns > now) batch.push_back(Report{key, 0, e.interval_us, 0});
    }
  }
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (std::string& key : shard.dirty) {
      auto it = shard.entries.find(key);
      if (it == shard.entries.end()) continue;
      Entry& e = it->second;
      e.queued = false;
      if (e.pending > 0)
        batch.push_back(Report{std::move(key), e.pending, e.interval_us,
                               std::clamp<std::int64_t>((now - e.first_pending_ns) / 1000, 0, e.tolerance_us)});
      e.pending = 0;
    }
    shard.dirty.clear();
  }
  return batch;
}

void SharedLimiter::apply(const std::vector<Report>& batch, const std::vector<std::int64_t>& cluster_ns) {
  for (size_t i = 0; i < batch.size(); ++i) {
    Shard& shard = shards_[std::hash<std::string>{}(batch[i].key) % kShards];
    std::lock_guard lock(shard.mu);
    auto it = shard.entries.find(batch[i].key);
    if (it == shard.entries.end()) continue;
    Entry& e = it->second;
    // The cluster's TAT as of Redis's reply plus this node's admissions since the snapshot (in `pending`
    // again).
    const std::int64_t cluster = cluster_ns[i] + e.pending * e.interval_us * 1000;
    e.tat_ns = std::max(e.tat_ns, cluster);
  }
}

bool SharedLimiter::ensure_connection(std::string* why) {
  if (conn_) return true;
  auto c = redis::connect(endpoint_, options_.connect_timeout, options_.command_timeout);
  if (!c.ok()) {
    *why = c.error().message;
    return false;
  }
  conn_ = *c;
  redis::ReplyPtr r = redis::command(conn_, {"SCRIPT", "LOAD", kScript});
  if (!r || r->type != REDIS_REPLY_STRING) {
    *why = "SCRIPT LOAD: " + redis::describe_failure(conn_, r.get());
    drop_connection();
    return false;
  }
  sha_.assign(r->str, r->len);
  return true;
}

void SharedLimiter::drop_connection() {
  if (conn_) redisFree(conn_);
  conn_ = nullptr;
  sha_.clear();
}

bool SharedLimiter::report(const std::vector<Report>& batch, std::string* why) {
  if (!ensure_connection(why)) return false;
  if (batch.empty()) {  // nothing to report: a ping keeps the outage state true
    redis::ReplyPtr r = redis::command(conn_, {"PING"});
    if (r && r->type == REDIS_REPLY_STATUS) return true;
    *why = redis::describe_failure(conn_, r.get());
    drop_connection();
    return false;
  }
  auto args_of = [&](size_t from, size_t to, const std::string& verb, const std::string& body) {
    std::vector<std::string> args{verb, body, std::to_string(to - from)};
    for (size_t i = from; i < to; ++i) args.push_back(options_.key_prefix + batch[i].key);
    for (size_t i = from; i < to; ++i) {
      args.push_back(std::to_string(batch[i].count));
      args.push_back(std::to_string(batch[i].interval_us));
      args.push_back(std::to_string(batch[i].age_us));
    }
    return args;
  };
  // All chunks in one pipeline: one round trip per report however many keys it carries.
  const std::int64_t sent = steady_ns();
  for (size_t from = 0; from < batch.size(); from += kChunk)
    redis::append(conn_, args_of(from, std::min(from + kChunk, batch.size()), "EVALSHA", sha_));
  // Each key's TAT on this node's clock, through the clock offset (offset_ns_) between Redis's clock and
  // this node's. Any one reply only bounds when Redis read its clock (between the send and the arrival),
  // and an arrival read late because this thread was not scheduled would make the estimate late: every
  // pull would then refuse for that long, which under overload loses that much of the rate. So the offset
  // comes from the most precise reply seen, precision counting the drift since.
  std::vector<std::int64_t> cluster(batch.size(), 0);
  std::vector<size_t> unloaded;  // chunks refused with NOSCRIPT (the script was flushed): sent again below
  bool ok = true;
  auto take = [&](const redisReply* r, size_t from, size_t to, std::int64_t issued, bool first) {
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != to - from + 1) {
      if (ok) *why = redis::describe_failure(conn_, r);
      ok = false;
      return;
    }
    const std::int64_t redis_now_ns = r->element[0]->integer * 1000;
    if (first) {
      const std::int64_t arrived = steady_ns(), trip = arrived - issued;
      // A sample is good to within half its round trip; the kept one also to within the clocks' drift since
      // (Redis's TIME follows the wall clock, which NTP may slew by up to 500 ppm).
      if (best_trip_ns_ < 0 || trip / 2 <= best_trip_ns_ / 2 + (arrived - offset_at_ns_) / 2000) {
        offset_ns_ = issued + trip / 2 - redis_now_ns;
        best_trip_ns_ = trip;
        offset_at_ns_ = arrived;
      }
    }
    for (size_t i = from; i < to; ++i) cluster[i] = redis_now_ns + offset_ns_ + r->element[i - from + 1]->integer * 1000;
  };
  for (size_t from = 0; from < batch.size() && conn_->err == 0; from += kChunk) {
    redis::ReplyPtr r = redis::next_reply(conn_);
    if (redis::is_noscript(r.get()))
      unloaded.push_back(from);
    else
      take(r.get(), from, std::min(from + kChunk, batch.size()), sent, from == 0);  // every reply is read: the pipeline stays in step
  }
  if (conn_->err) {
    if (ok) *why = conn_->errstr;
    ok = false;
  }
  for (size_t from : unloaded) {
    if (!ok) break;
    const size_t to = std::min(from + kChunk, batch.size());
    const std::int64_t issued = steady_ns();
    redis::ReplyPtr r = redis::command(conn_, args_of(from, to, "EVAL", kScript));
    take(r.get(), from, to, issued, true);
  }
  if (!ok) {
    drop_connection();
    return false;
  }
  apply(batch, cluster);
  return true;
}

void SharedLimiter::run() {
  std::int64_t next_probe = 0, last_contact = steady_ns();
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait_for(lock, options_.sync_interval, [&] { return stopping_ || sync_requested_; });
    const bool stop = stopping_, requested = sync_requested_;
    sync_requested_ = false;
    const std::uint64_t round = ++started_;
    lock.unlock();

    std::vector<Report> batch = collect();
    const std::int64_t now = steady_ns();
    bool ok = true;
    const bool ping_due = now - last_contact >= options_.idle_ping.count() * 1'000'000;
    // During an outage one attempt per backoff period; what was admitted meanwhile is not replayed later
    // (the per-node limits were the limits then, and a restarted Redis has forgotten the rest anyway).
    const bool waiting = outage_.down() && now < next_probe && !requested && !stop;
    if (!waiting && (!batch.empty() || requested || ping_due || outage_.down())) {
      std::string why;
      ok = report(batch, &why);
      if (ok) {
        last_contact = steady_ns();
        backoff_ms_.store(0);
        outage_.succeeded();
      } else {
        std::int64_t backoff = backoff_ms_.load();
        backoff = backoff == 0 ? options_.min_backoff.count()
                               : std::min<std::int64_t>(backoff * 2, options_.max_backoff.count());
        backoff_ms_.store(backoff);
        next_probe = steady_ns() + backoff * 1'000'000;
        outage_.failed(why);
      }
    } else if (waiting) {
      ok = false;
    }

    lock.lock();
    completed_ = round;
    last_ok_ = ok;
    round_done_.notify_all();
    if (stop) return;
  }
}

bool SharedLimiter::sync_now() {
  std::unique_lock lock(mu_);
  const std::uint64_t after = started_;
  sync_requested_ = true;
  wake_.notify_all();
  round_done_.wait(lock, [&] { return completed_ > after || stopping_; });
  return completed_ > after && last_ok_;
}

size_t SharedLimiter::tracked_keys() {
  size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.entries.size();
  }
  return n;
}

}  // namespace rt
