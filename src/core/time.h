// Wall-clock time as whole Unix seconds, RFC 3339 text, durations, and the Clock interface through which
// the service reads the time (so expiry tests can use an exact clock).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rt {

using UnixTime = std::int64_t;  // seconds since 1970-01-01T00:00:00Z

// "2027-01-31T12:00:00Z".
std::string format_rfc3339(UnixTime t);

// Accepts RFC 3339 date-times ("2027-01-31T12:00:00Z", "...T12:00:00.123+02:00", lower-case t/z)
// and plain dates ("2027-01-31", taken as midnight UTC). Fractions are truncated. nullopt when malformed
// or out of range (years 1970..9999).
std::optional<UnixTime> parse_rfc3339(std::string_view text);

// "90d", "12h", "30m", "45s", "2w" (one number, one unit) -> seconds; nullopt when malformed,
// not positive, or above 100 years.
std::optional<std::int64_t> parse_duration(std::string_view text);

class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixTime now() const = 0;
};

// The system's real-time clock.
class SystemClock final : public Clock {
 public:
  UnixTime now() const override;
};

// A clock the test sets by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixTime t) : t_(t) {}
  UnixTime now() const override { return t_; }
  void set(UnixTime t) { t_ = t; }
  void advance(std::int64_t seconds) { t_ += seconds; }

 private:
  UnixTime t_;
};

}  // namespace rt
