// Which expiry notice a token is due at a given time, and when its next one falls: the rule both stores
// apply in announce_token_expiry (docs/webhooks.md, "Expiry notices"), kept here so that it is one rule.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/time.h"

namespace rt {

// A token's expiry-notice column (`expiry_notice_at` in both stores) holds NULL until the scheduler first
// looks at the token (it is then found by its expiry time), the time its next notice is due (> 0), or
// kNoExpiryNoticeLeft once token.expired was announced.
inline constexpr UnixTime kNoExpiryNoticeLeft = 0;

struct ExpiryNotice {
  std::string_view event;                 // "token.expiring", "token.expired", or empty: nothing to say now
  std::optional<std::int64_t> window;     // token.expiring: the window (seconds before expiry) it announces
  UnixTime next_notice_at = 0;            // what the column becomes (kNoExpiryNoticeLeft after token.expired)
};

// At `now`, for a token expiring at `expires_at`, with `windows` in seconds before expiry, descending:
// expired (expires_at <= now) -> token.expired, nothing after it; inside a window -> token.expiring for the
// smallest window the token is inside (a token created 12 hours before its expiry gets the 1-day notice
// only, never a late 7-day one), next due when the next smaller window opens, or at the expiry; outside
// every window -> nothing, next due when the largest window opens. Each window is announced at most once
// as long as the windows stay the same.
ExpiryNotice next_expiry_notice(UnixTime expires_at, UnixTime now, std::span<const std::int64_t> windows);

}  // namespace rt
