// `repotokens coverage status` against a real repotokensd: coverage uploaded with the project's HTTP client
// (the reporter's wire format, project token), then read back by the CLI as a table, CSV and JSON; a
// refused upload shows with its reason; a repository that does not exist is one clear line and exit 1.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/cli_fixture.h"

namespace rt::test {
namespace {

using nlohmann::json;

const std::string kFirst = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
const std::string kSecond = "fedcba9876543210fedcba9876543210fedcba98";

class CliCoverage : public ::testing::Test {
 protected:
  CliWorld w{1};
  IssuedToken token = create_repository_token(*w.http, w.world.admin.token, "gh", w.org, "r-0000");

  void upload(const std::string& commit, const std::string& language, const std::string& body, long status = 200) {
    auto r = w.http->request("POST", "/2.0/coverage/" + commit + "/" + language, body,
                             {project_token(token.secret), "Content-Type: application/json"});
    ASSERT_EQ(r.status, status) << r.body;
  }
};

TEST_F(CliCoverage, StatusShowsTheRecentUploadsNewestFirst) {
  // 2 of 3 lines covered: 66.67%.
  upload(kFirst, "go", R"({"fileReports":[{"filename":"src/a.go","coverage":{"1":1,"2":0,"3":4}}]})");
  // 1 of 4 lines, in two files: 25.00%.
  upload(kSecond, "TypeScript", R"({"fileReports":[{"filename":"a.ts","coverage":{"1":1,"2":0}},
                                                  {"filename":"b.ts","coverage":{"7":0,"8":0}}]})");
  upload(kSecond, "go", R"({"fileReports":[{"filename":"a.go","coverage":{"0":1}}]})", 400);

  auto table = w.cli({"coverage", "status", "--repo", "r-0000"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  std::vector<std::string> lines;
  for (size_t at = 0, nl; (nl = table.out.find('\n', at)) != std::string::npos; at = nl + 1)
    lines.push_back(table.out.substr(at, nl - at));
  ASSERT_EQ(lines.size(), 4u) << table.out;
  EXPECT_TRUE(lines[0].starts_with("COMMIT")) << lines[0];
  // Newest first: the refused upload, with its reason, then the two accepted ones.
  EXPECT_TRUE(lines[1].starts_with(kSecond)) << lines[1];
  EXPECT_NE(lines[1].find("failed"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("line numbers must be positive integers"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[1].find('%'), std::string::npos) << lines[1];  // it stored nothing: no percentage
  EXPECT_TRUE(lines[2].starts_with(kSecond)) << lines[2];
  EXPECT_NE(lines[2].find("typescript"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find(" 25.00%"), std::string::npos) << lines[2];
  EXPECT_TRUE(lines[3].starts_with(kFirst)) << lines[3];
  EXPECT_NE(lines[3].find(" go "), std::string::npos) << lines[3];
  EXPECT_NE(lines[3].find("final"), std::string::npos) << lines[3];
  EXPECT_NE(lines[3].find(" 66.67%"), std::string::npos) << lines[3];

  // For programs: keys as Codacy's CoverageReport names them, counts and the percentage as numbers.
  auto as_json = w.cli({"coverage", "status", "--repo", "r-0000", "--format", "json", "--limit", "2"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  json list = json::parse(as_json.out);
  ASSERT_EQ(list.size(), 2u) << as_json.out;
  EXPECT_EQ(list[1]["targetCommitSha"], kSecond);
  EXPECT_EQ(list[1]["language"], "typescript");
  EXPECT_EQ(list[1]["status"], "final");
  EXPECT_EQ(list[1]["files"], 2);
  EXPECT_DOUBLE_EQ(list[1]["coverage"].get<double>(), 25.0);
  EXPECT_FALSE(list[1].contains("reason")) << list[1];  // absent values are left out
  EXPECT_TRUE(list[1]["createdAt"].get<std::string>().ends_with("Z")) << list[1];

  auto csv = w.cli({"coverage", "status", "--repo", "r-0000", "--format", "csv", "--limit", "1"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  const std::string header = "targetCommitSha,language,status,files,coverage,createdAt,reason\n";
  EXPECT_TRUE(csv.out.starts_with(header + kSecond + ",go,failed,,,")) << csv.out;
  // The reason holds quotes: a quoted CSV field with the quotes doubled.
  EXPECT_TRUE(csv.out.ends_with(",\"fileReports[0] (a.go): line numbers must be positive integers, not \"\"0\"\"\"\n"))
      << csv.out;
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 2) << csv.out;
}

TEST_F(CliCoverage, AnUnknownRepositoryIsOneClearLineAndExitOne) {
  upload(kFirst, "go", R"({"fileReports":[{"filename":"src/a.go","coverage":{"1":1}}]})");
  auto r = w.cli({"coverage", "status", "--repo", "no-such-repo"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(r.err.starts_with("error: ")) << r.err;
  EXPECT_NE(r.err.find("no-such-repo"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  auto usage = w.cli({"coverage", "status", "--repo", "r-0000", "--limit", "0"});
  EXPECT_EQ(usage.exit_code, 2) << usage.err;
  auto missing = w.cli({"coverage", "status"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
}

}  // namespace
}  // namespace rt::test
