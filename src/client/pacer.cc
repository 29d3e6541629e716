// The pacer: a client-side GCRA whose rate and burst come from the server's RateLimit headers and the
// operator's ceiling, synchronised downward with the server's remaining count, plus AIMD for silent servers.
#include "client/pacer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

namespace rt::client {
namespace {

constexpr double kServerShare = 0.97;  // aim just under the server's rate: clocks and lag differ a little

// Reads `key=number` parameters of one list member, e.g. `"per-token";q=100;w=10`.
std::optional<double> param(std::string_view member, std::string_view key) {
  size_t pos = 0;
  while ((pos = member.find(';', pos)) != std::string_view::npos) {
    ++pos;
    while (pos < member.size() && member[pos] == ' ') ++pos;
    if (member.substr(pos, key.size()) == key && pos + key.size() < member.size() && member[pos + key.size()] == '=') {
      std::string number(member.substr(pos + key.size() + 1));
      try {
        double v = std::stod(number);
        if (std::isfinite(v) && v >= 0) return v;
      } catch (...) {
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

template <class F>
void for_each_member(std::string_view header, F&& f) {
  while (!header.empty()) {
    size_t comma = header.find(',');
    f(header.substr(0, comma));
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
}

}  // namespace

std::optional<RateLimitInfo> parse_rate_limit(std::string_view policy_header, std::string_view ratelimit_header) {
  std::optional<RateLimitInfo> best;
  for_each_member(policy_header, [&](std::string_view m) {
    auto q = param(m, "q"), w = param(m, "w");
    if (!q || !w || *w <= 0 || *q <= 0) return;
    RateLimitInfo info{*q, *w, std::nullopt, 0};
    if (!best || info.rate() < best->rate()) best = info;
  });
  for_each_member(ratelimit_header, [&](std::string_view m) {
    auto r = param(m, "r");
    if (!r) return;
    if (!best) best = RateLimitInfo{};
    if (!best->remaining || *r < *best->remaining) {
      best->remaining = *r;
      best->reset = param(m, "t").value_or(0);
    }
  });
  return best;
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Pacer::Pacer(double ceiling_per_second, int concurrency)
    : user_interval_(ceiling_per_second > 0 ? 1.0 / ceiling_per_second : 0),
      margin_(std::max(1, concurrency) + 2.0) {}

double Pacer::interval_locked() const { return std::max({user_interval_, server_interval_, adaptive_interval_}); }

// Burst tolerance of the client GCRA: the server's burst minus the in-flight margin, but none when the
// operator's ceiling or a learned (headerless) limit is what binds.
double Pacer::tolerance_locked(double interval) const {
  if (interval <= 0 || server_interval_ <= 0 || interval > server_interval_) return 0;
  return std::max(0.0, server_burst_ - margin_) * interval;
}

double Pacer::reserve(double now) {
  std::lock_guard lock(mu_);
  double start = std::max(now, pause_until_);
  recent_sends_.push_back(start);
  if (recent_sends_.size() > 32) recent_sends_.pop_front();
  double interval = interval_locked();
  if (interval <= 0) return start;
  double send = std::max(start, tat_ - tolerance_locked(interval));
  tat_ = std::max(tat_, send) + interval;
  return send;
}

void Pacer::observe(double now, std::string_view policy_header, std::string_view ratelimit_header) {
  auto info = parse_rate_limit(policy_header, ratelimit_header);
  if (!info) return;
  std::lock_guard lock(mu_);
  if (info->rate() > 0) {
    server_interval_ = 1.0 / (info->rate() * kServerShare);
    server_burst_ = info->quota;
    adaptive_interval_ = 0;  // the server says what its limit is: no need to guess
  }
  double interval = interval_locked();
  if (!info->remaining || interval <= 0) return;
  // The client may send at once as many requests as the server says remain, less what may be in flight.
  // Only ever tighten (the figure is already stale by the requests sent since), except the first time.
  double allowed = std::max(0.0, *info->remaining - margin_);
  double tat_from_server = now + tolerance_locked(interval) - (allowed - 1) * interval;
  if (!synced_ || tat_from_server > tat_) tat_ = tat_from_server;
  synced_ = true;
}

void Pacer::on_throttled(double now, double wait, bool described) {
  std::lock_guard lock(mu_);
  pause_until_ = std::max(pause_until_, now + wait);
  if (described || now - last_decrease_ < 1.0) return;  // one decrease per burst of refusals
  last_decrease_ = now;
  // No headers: take the rate we were actually sending at and aim at 70% of it.
  double observed = 0;
  if (recent_sends_.size() >= 2 && recent_sends_.back() > recent_sends_.front())
    observed = (recent_sends_.size() - 1) / (recent_sends_.back() - recent_sends_.front());
  double candidate = observed > 0 ? 1.0 / (observed * 0.7) : 0.1;
  adaptive_interval_ = std::max(adaptive_interval_ * 1.5, candidate);
}

void Pacer::on_success() {
  std::lock_guard lock(mu_);
  if (adaptive_interval_ <= 0) return;
  adaptive_interval_ *= 0.995;  // additive-ish recovery: about +0.5% of the rate per success
  if (adaptive_interval_ < 1e-4) adaptive_interval_ = 0;
}

double Pacer::target_rate() const {
  std::lock_guard lock(mu_);
  double interval = interval_locked();
  return interval > 0 ? 1.0 / interval : 0;
}

}  // namespace rt::client
