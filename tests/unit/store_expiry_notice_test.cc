// The expiry-notice rule (store/expiry_notice.h) both stores apply: which notice is due, and when the next.
#include "store/expiry_notice.h"

#include <gtest/gtest.h>

#include <vector>

namespace rt {
namespace {

const std::vector<std::int64_t> kWindows{7 * 86400, 86400};
constexpr UnixTime kExpiry = 1'000'000'000;

TEST(ExpiryNotice, OutsideEveryWindowNothingIsSaidUntilTheLargestOpens) {
  auto n = next_expiry_notice(kExpiry, kExpiry - 30 * 86400, kWindows);
  EXPECT_TRUE(n.event.empty());
  EXPECT_EQ(n.next_notice_at, kExpiry - 7 * 86400);
}

TEST(ExpiryNotice, EachWindowOnceThenTheExpiry) {
  auto first = next_expiry_notice(kExpiry, kExpiry - 7 * 86400, kWindows);  // the window opens exactly now
  EXPECT_EQ(first.event, "token.expiring");
  EXPECT_EQ(first.window, 7 * 86400);
  EXPECT_EQ(first.next_notice_at, kExpiry - 86400);
  auto second = next_expiry_notice(kExpiry, first.next_notice_at + 5, kWindows);  // a scan a little late
  EXPECT_EQ(second.event, "token.expiring");
  EXPECT_EQ(second.window, 86400);
  EXPECT_EQ(second.next_notice_at, kExpiry);
  auto last = next_expiry_notice(kExpiry, kExpiry, kWindows);
  EXPECT_EQ(last.event, "token.expired");
  EXPECT_FALSE(last.window);
  EXPECT_EQ(last.next_notice_at, kNoExpiryNoticeLeft);
}

TEST(ExpiryNotice, InsideSeveralWindowsOnlyTheSmallestIsAnnounced) {
  auto n = next_expiry_notice(kExpiry, kExpiry - 3600, kWindows);
  EXPECT_EQ(n.event, "token.expiring");
  EXPECT_EQ(n.window, 86400);
  EXPECT_EQ(n.next_notice_at, kExpiry);
  // Long past its expiry (the server was down): only the expiry.
  EXPECT_EQ(next_expiry_notice(kExpiry, kExpiry + 86400, kWindows).event, "token.expired");
}

TEST(ExpiryNotice, WithoutWindowsOnlyTheExpiryIsAnnounced) {
  auto n = next_expiry_notice(kExpiry, kExpiry - 60, {});
  EXPECT_TRUE(n.event.empty());
  EXPECT_EQ(n.next_notice_at, kExpiry);
  EXPECT_EQ(next_expiry_notice(kExpiry, kExpiry, {}).event, "token.expired");
}

}  // namespace
}  // namespace rt
