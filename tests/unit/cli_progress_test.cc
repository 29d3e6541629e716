// The words of the progress line while retrying, and the summary's retries by cause.
#include <gtest/gtest.h>

#include "cli/progress.h"

namespace rt::cli {

TEST(Progress, RetryNotesSayWhyAndWhen) {
  using client::RetryCause;
  EXPECT_EQ(retry_note({RetryCause::unreachable, 0, 3, 9, 4.0, "connection refused"}),
            "server unreachable, retry 3/9 in 4.0s (connection refused)");
  EXPECT_EQ(retry_note({RetryCause::throttled, 429, 1, 9, 2.0, "HTTP 429"}), "throttled (429), retry 1/9 in 2.0s");
  EXPECT_EQ(retry_note({RetryCause::server_busy, 503, 2, 9, 12.4, "HTTP 503"}), "server busy (503), retry 2/9 in 12s");
  EXPECT_EQ(retry_note({RetryCause::throttled, 429, 4, 9, 0, "HTTP 429"}), "throttled (429), retry 4/9 now");
}

TEST(Progress, RetriesByCause) {
  client::ClientStats stats;
  EXPECT_EQ(retry_causes_text(stats), "");
  stats.retry_log.record({client::RetryCause::throttled, 429, 1, 9, 1, ""});
  stats.retry_log.record({client::RetryCause::unreachable, 0, 1, 9, 1, ""});
  stats.retry_log.record({client::RetryCause::unreachable, 0, 2, 9, 1, ""});
  EXPECT_EQ(retry_causes_text(stats), "2 unreachable, 1 throttled");
}

}  // namespace rt::cli
