// The expiry-notice rule of store/expiry_notice.h: pure arithmetic on times, no I/O.
#include "store/expiry_notice.h"

namespace rt {

ExpiryNotice next_expiry_notice(UnixTime expires_at, UnixTime now, std::span<const std::int64_t> windows) {
  if (expires_at <= now) return ExpiryNotice{.event = "token.expired", .window = std::nullopt,
                                             .next_notice_at = kNoExpiryNoticeLeft};
  const std::int64_t remaining = expires_at - now;
  // The smallest window the token is inside: the last of the descending list with remaining <= window.
  std::optional<std::size_t> inside;
  for (std::size_t i = 0; i < windows.size(); ++i)
    if (remaining <= windows[i]) inside = i;
  if (!inside)
    return ExpiryNotice{.event = {}, .window = std::nullopt,
                        .next_notice_at = windows.empty() ? expires_at : expires_at - windows.front()};
  const UnixTime next = *inside + 1 < windows.size() ? expires_at - windows[*inside + 1] : expires_at;
  return ExpiryNotice{.event = "token.expiring", .window = windows[*inside], .next_notice_at = next};
}

}  // namespace rt
