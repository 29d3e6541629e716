// RFC 3339 formatting and parsing, and durations such as "90d".
#include <gtest/gtest.h>

#include "core/time.h"

namespace rt {
namespace {

TEST(Rfc3339, FormatsUtc) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1801396800), "2027-01-31T12:00:00Z");
  EXPECT_EQ(format_rfc3339(951782400), "2000-02-29T00:00:00Z");
}

TEST(Rfc3339, ParsesWhatItFormatsAndOffsets) {
  for (UnixTime t : {0LL, 951782400LL, 1801396800LL, 4102444799LL}) EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
  EXPECT_EQ(parse_rfc3339("2027-01-31T14:00:00+02:00"), 1801396800);
  EXPECT_EQ(parse_rfc3339("2027-01-31T12:00:00.999Z"), 1801396800);
  EXPECT_EQ(parse_rfc3339("2027-01-31t12:00:00z"), 1801396800);
  EXPECT_EQ(parse_rfc3339("2027-01-31"), 1801353600);
}

TEST(Rfc3339, RejectsMalformed) {
  for (const char* bad : {"", "2027", "2027-13-01", "2027-02-29", "2027-01-32T00:00:00Z", "2027-01-31T24:00:00Z",
                          "2027-01-31T12:00:00", "2027-01-31 12:00:00Z", "2027-01-31T12:00:00+0200",
                          "1969-12-31T23:59:59Z", "2027-01-31T12:00:00.Z", "2027-01-31T12:00:00Zjunk", "tomorrow"})
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
}

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(parse_duration("90d"), 90 * 86400);
  EXPECT_EQ(parse_duration("2w"), 14 * 86400);
  EXPECT_EQ(parse_duration("12h"), 12 * 3600);
  EXPECT_EQ(parse_duration("30m"), 1800);
  EXPECT_EQ(parse_duration("45s"), 45);
  for (const char* bad : {"", "d", "0d", "-1d", "1.5d", "10y", "d10", "999999999999d", " 1d"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}

}  // namespace
}  // namespace rt
