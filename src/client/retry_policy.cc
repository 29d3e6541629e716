// Retry decisions, Retry-After parsing (delta-seconds or HTTP-date via libcurl's date parser) and the
// per-cause retry log.
#include "client/retry_policy.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

namespace rt::client {

const char* retry_cause_name(RetryCause cause) {
  switch (cause) {
    case RetryCause::unreachable: return "unreachable";
    case RetryCause::throttled: return "throttled";
    case RetryCause::server_busy: return "server busy";
  }
  return "?";
}

void RetryLog::record(const RetryEvent& event) {
  counts_[static_cast<int>(event.cause)]++;
  if (RetryObserver* o = observer_.load()) o->on_retry(event);
}

bool is_throttle_status(long status) { return status == 429 || status == 503 || status == 504; }

std::optional<double> parse_retry_after(std::string_view value, std::int64_t now_unix) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  double seconds = 0;
  if (value.front() >= '0' && value.front() <= '9') {
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(seconds)) return std::nullopt;
  } else {
    std::string text(value);
    time_t at = curl_getdate(text.c_str(), nullptr);
    if (at == -1) return std::nullopt;
    seconds = static_cast<double>(at - now_unix);
  }
  return std::clamp(seconds, 0.0, 3600.0);
}

double RetryPolicy::delay(int attempt, std::optional<double> retry_after, std::mt19937_64& random) const {
  if (retry_after) return *retry_after;
  double ceiling = std::min(cap_, base_ * std::ldexp(1.0, std::clamp(attempt - 1, 0, 30)));
  return std::uniform_real_distribution<double>(0.0, ceiling)(random);
}

}  // namespace rt::client
