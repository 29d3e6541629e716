// The pacer: a client-side GCRA whose rate and burst come from the server's RateLimit headers and the
// operator's ceiling, synchronised downward with the server's remaining count, plus a sliding window fitted
// to the refusals of servers that send no headers.
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

double Pacer::interval_locked() const { return std::max(user_interval_, server_interval_); }

// Burst tolerance of the client GCRA: the server's burst minus the in-flight margin, but none under an
// operator's ceiling: a ceiling is a rate never to exceed, even when the server's own rate is below it and
// its burst would allow more for a while.
double Pacer::tolerance_locked(double interval) const {
  if (interval <= 0 || server_interval_ <= 0 || user_interval_ > 0) return 0;
  return std::max(0.0, server_burst_ - margin_) * interval;
}

namespace {
constexpr double kArrivalSlack = 0.01;  // send times here vs arrival times at the server
constexpr std::size_t kMaxRecordedSends = 200'000;
}  // namespace

std::size_t Pacer::sends_since_locked(double from) const {
  return static_cast<std::size_t>(sends_.end() - std::upper_bound(sends_.begin(), sends_.end(), from));
}

// Records a send at `at`; when earliest_locked() found a trial slot, this send is that trial.
void Pacer::record_send_locked(double at) {
  if (trial_ref_ >= 0) {
    trial_in_flight_ = true;
    trial_sent_ = at;
    trial_length_ = at - trial_ref_ - kArrivalSlack;
    trial_ref_ = -1;
  }
  sends_.insert(std::upper_bound(sends_.begin(), sends_.end(), at), at);
  const double horizon = std::isfinite(hi_) ? 2 * hi_ + 1 : 3600;
  while (sends_.size() > kMaxRecordedSends ||
         (sends_.size() > quota_ + 1 && !sends_.empty() && sends_.front() < at - horizon))
    sends_.pop_front();
  const double interval = interval_locked();
  if (interval > 0) tat_ = std::max(tat_, at) + interval;
}

void Pacer::forget_send_locked(double at) {
  auto it = std::lower_bound(sends_.begin(), sends_.end(), at);
  if (it != sends_.end() && *it == at) sends_.erase(it);
}

// The earliest time a request may go, and (through trial_ref_) whether it would be a trial of the window.
// The fitted window: a slot frees when the quota-th most recent send leaves the window. While the window's
// length is unknown only trials go (one at a time, each 25% later than the last refusal allowed); once it
// is bracketed, sends wait for the upper bound, and one trial per window tries the middle.
double Pacer::earliest_locked(double now) {
  trial_ref_ = -1;
  double t = std::max(now, pause_until_);
  if (quota_ > 0 && server_interval_ <= 0) {
    const auto q = static_cast<std::size_t>(quota_);
    if (sends_.size() >= q) {
      const double ref = sends_[sends_.size() - q];
      const bool bracketed = std::isfinite(hi_);
      const bool narrow = bracketed && hi_ - lo_ <= std::max(0.01, 0.02 * hi_);
      const double by_window = bracketed ? ref + hi_ + kArrivalSlack : kUnknown;
      if (trial_in_flight_ || narrow) {
        t = std::max(t, by_window);
      } else {
        const double length = bracketed ? (lo_ + hi_) / 2 : std::max(lo_ * 1.25, lo_ + 0.02);
        const double trial_at = ref + length + kArrivalSlack;
        t = std::max(t, std::min(trial_at, by_window));
        if (t >= trial_at && t < by_window) trial_ref_ = ref;
      }
    }
  }
  const double interval = interval_locked();
  if (interval > 0 && std::isfinite(t)) t = std::max(t, tat_ - tolerance_locked(interval));
  return t;
}

double Pacer::reserve(double now) {
  std::lock_guard lock(mu_);
  double at = earliest_locked(now);
  if (!std::isfinite(at)) at = now + 1;  // a probe is out: a schedule cannot wait for its answer
  record_send_locked(at);
  return at;
}

std::optional<double> Pacer::acquire(double now) {
  std::lock_guard lock(mu_);
  const double at = earliest_locked(now);
  if (at > now) return std::isfinite(at) ? at : now + 0.05;
  record_send_locked(now);
  return std::nullopt;
}

void Pacer::observe(double now, std::string_view policy_header, std::string_view ratelimit_header) {
  auto info = parse_rate_limit(policy_header, ratelimit_header);
  if (!info) return;
  std::lock_guard lock(mu_);
  if (info->rate() > 0) {
    server_interval_ = 1.0 / (info->rate() * kServerShare);
    server_burst_ = info->quota;
    quota_ = 0;  // the server says what its limit is: no need to fit one
    trial_in_flight_ = false;
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

void Pacer::on_throttled(double now, double wait, bool described, double sent_at) {
  std::lock_guard lock(mu_);
  pause_until_ = std::max(pause_until_, now + wait);
  if (described || wait > 0 || server_interval_ > 0 || sent_at < 0) return;  // the server said how long
  forget_send_locked(sent_at);
  if (quota_ <= 0) {
    // The first refusal: what got through before it is the quota, all of it inside one window.
    const std::size_t before = sends_.size() - sends_since_locked(sent_at);
    quota_ = static_cast<double>(std::max<std::size_t>(1, before));
    lo_ = before ? std::max(0.02, sent_at - sends_.front()) : 0.02;
    hi_ = kUnknown;
    first_refused_at_ = sent_at;
    fit_started_ = now;
    trial_in_flight_ = false;
    return;
  }
  if (trial_in_flight_ && sent_at == trial_sent_) {
    lo_ = std::max(lo_, trial_length_);  // the window is longer than that
    if (std::isfinite(hi_) && lo_ >= hi_) hi_ = kUnknown;
    trial_in_flight_ = false;
    return;
  }
  if (sent_at < fit_started_) {  // in flight when the fit began
    if (sent_at < first_refused_at_) quota_ = std::max(1.0, quota_ - 1);
    return;
  }
  quota_ = std::max(1.0, quota_ - 1);  // refused although the fit allowed it: the quota is smaller
}

void Pacer::on_success(double sent_at) {
  std::lock_guard lock(mu_);
  if (trial_in_flight_ && sent_at == trial_sent_) {
    hi_ = std::min(hi_, trial_length_);  // a slot had freed: the window is at most that long
    lo_ = std::min(lo_, hi_);
    trial_in_flight_ = false;
  }
}

void Pacer::on_lost(double sent_at) {
  std::lock_guard lock(mu_);
  if (trial_in_flight_ && sent_at == trial_sent_) trial_in_flight_ = false;  // learnt nothing; try again
}

double Pacer::target_rate() const {
  std::lock_guard lock(mu_);
  double interval = interval_locked();
  return interval > 0 ? 1.0 / interval : 0;
}

std::optional<Pacer::Window> Pacer::fitted_window() const {
  std::lock_guard lock(mu_);
  if (quota_ <= 0) return std::nullopt;
  return Window{quota_, hi_};
}

}  // namespace rt::client
