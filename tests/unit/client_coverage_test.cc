// Reading listCoverageReports answers: repotokensd's list of uploads and Codacy's `lastReports` object (the
// shape of Codacy's published API: targetCommitSha, commit, language, createdAt, status), so that
// `repotokens coverage status` works against either. repotokensd's own answer is also covered end to end
// by tests/integration/cli_coverage_test.cc.
#include <gtest/gtest.h>

#include "client/api_client.h"

namespace rt::client {

TEST(CoverageReports, RepotokensdListWithEveryField) {
  auto r = parse_coverage_reports(R"({"data": [
      {"commit": "abc", "language": "go", "status": "final", "files": 2, "coverage": 66.67, "coveredLines": 2,
       "coverableLines": 3, "bytes": 80, "uploadedAt": "2027-01-31T12:00:00Z"},
      {"commit": "abc", "language": "go", "status": "failed", "reason": "bad line", "files": 0, "coverage": 0.0,
       "uploadedAt": "2027-01-31T11:00:00Z"}], "pagination": {"limit": 100, "total": 2}})",
                                  10);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].commit, "abc");
  EXPECT_EQ((*r)[0].language, "go");
  EXPECT_EQ((*r)[0].status, "final");
  EXPECT_EQ((*r)[0].files, 2);
  EXPECT_DOUBLE_EQ(*(*r)[0].coverage, 66.67);
  EXPECT_EQ((*r)[0].at, parse_rfc3339("2027-01-31T12:00:00Z"));
  EXPECT_EQ((*r)[1].reason, "bad line");
}

TEST(CoverageReports, CodacyLastReportsWithoutFilesOrPercentage) {
  auto r = parse_coverage_reports(R"({"data": {"hasCoverageOverview": true, "lastReports": [
      {"targetCommitSha": "9f8e7d", "commit": {"sha": "9f8e7d", "id": 12, "branches": ["main"]},
       "language": "TypeScript", "createdAt": "2027-02-01T08:30:00Z", "status": "Processed"},
      {"targetCommitSha": "", "commit": {"sha": "1a2b3c"}, "createdAt": "2027-02-01T08:00:00Z",
       "status": "MissingFinal"},
      {"targetCommitSha": "0000aa", "createdAt": "2027-01-31T08:00:00Z", "status": "Pending"}]}})",
                                  2);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);  // the limit holds even when a server sends more
  EXPECT_EQ((*r)[0].commit, "9f8e7d");
  EXPECT_EQ((*r)[0].language, "TypeScript");
  EXPECT_EQ((*r)[0].status, "Processed");
  EXPECT_FALSE((*r)[0].files);
  EXPECT_FALSE((*r)[0].coverage);
  EXPECT_EQ((*r)[0].at, parse_rfc3339("2027-02-01T08:30:00Z"));
  EXPECT_EQ((*r)[1].commit, "1a2b3c");  // from the commit object when the target SHA is empty
  EXPECT_EQ((*r)[1].language, "");

  auto never = parse_coverage_reports(R"({"data": {"hasCoverageOverview": false}})", 10);
  ASSERT_TRUE(never.ok()) << never.error().message;
  EXPECT_TRUE(never->empty());
}

TEST(CoverageReports, AnyOtherShapeIsAnError) {
  for (const char* body : {"not json", R"({"data": {"reports": []}})", R"({"data": 3})", "[]x"}) {
    auto r = parse_coverage_reports(body, 10);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().kind, ErrorKind::internal) << body;
  }
}

}  // namespace rt::client
