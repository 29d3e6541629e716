// `repotokens provision` against a stand-in of Codacy Cloud (tests/codacy_standin/codacy_standin.py): token
// objects without names, plain hex tokens, base64-offset cursors, a sliding-window limit refused with bare
// 503/504, and a gateway that loses the reply of a create it carried out. The stand-in is the other side,
// so these tests do not depend on the database backend and run once, in the SQLite run.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "support/cli_fixture.h"
#include "support/codacy_standin.h"
#include "support/test_backend.h"

namespace rt::test {
namespace {

#define RT_NEEDS_STANDIN()                                                             \
  do {                                                                                 \
    RT_SKIP_ON_POSTGRESQL("the Codacy stand-in has no database");                      \
    if (!standin_available()) GTEST_SKIP() << "/usr/bin/python3 is needed for the stand-in"; \
  } while (0)

// Every repository holds exactly one token, and it is the secret the output file gives for it.
void expect_one_token_each_as_delivered(const CodacyStandin& codacy, const std::filesystem::path& out, int repos) {
  auto delivered = parse_token_csv(file_bytes(out));
  auto held = codacy.tokens();
  ASSERT_EQ(static_cast<int>(held.size()), repos);
  ASSERT_EQ(static_cast<int>(delivered.size()), repos);
  for (const auto& [repo, tokens] : held) {
    ASSERT_EQ(tokens.size(), 1u) << repo << " holds " << nlohmann::json(tokens).dump();
    EXPECT_EQ(tokens[0]["token"].get<std::string>(), delivered[repo]) << repo;
  }
}

long summary_count(const std::string& err, const std::string& what) {
  std::smatch m;
  const std::regex re("(\\d+) " + what);
  return std::regex_search(err, m, re) ? std::stol(m[1]) : -1;
}

}  // namespace

TEST(CliCodacyStandin, EnsureTwiceCreatesNothingTheSecondTimeEvenWithoutNamesOrJournal) {
  RT_NEEDS_STANDIN();
  CodacyStandin codacy({.repos = 130});  // more than one page of 100
  const auto out = codacy.dir() / "tokens.csv";
  auto first = codacy.cli({"provision", "--yes", "--output", out.string()});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(codacy.counter("created"), 130);
  expect_one_token_each_as_delivered(codacy, out, 130);

  auto second = codacy.cli({"provision", "--yes", "--output", out.string()});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(codacy.counter("created"), 130) << second.err;
  EXPECT_NE(second.err.find("created 0"), std::string::npos) << second.err;
  expect_one_token_each_as_delivered(codacy, out, 130);

  // Without the journal the token ids are unknown too: a repository with a live token counts as provisioned
  // (docs/cli.md), and the output file keeps every secret it held.
  std::filesystem::rename(codacy.dir() / "state", codacy.dir() / "state.moved");
  auto third = codacy.cli({"provision", "--yes", "--output", out.string()});
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(codacy.counter("created"), 130) << third.err;
  expect_one_token_each_as_delivered(codacy, out, 130);
}

TEST(CliCodacyStandin, ACreateWhoseReplyIsLostLeavesOneToken) {
  RT_NEEDS_STANDIN();
  CodacyStandin codacy({.repos = 40, .bad_gateway_every = 3});
  const auto out = codacy.dir() / "tokens.csv";
  auto run = codacy.cli({"provision", "--yes", "--output", out.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_GT(codacy.counter("bad_gateway"), 5);  // the gateway did lose replies
  expect_one_token_each_as_delivered(codacy, out, 40);
  // A lost reply is settled by listing and adopting the token that appeared, never by a blind second create
  // and revoke: every create made one of the tokens that remain.
  EXPECT_EQ(codacy.counter("created"), 40) << run.err;
  EXPECT_EQ(codacy.counter("revoked"), 0) << run.err;
}

TEST(CliCodacyStandin, ThePaceFollowsAWindowThatRefusesWithBare503s) {
  RT_NEEDS_STANDIN();
  // 60 requests per second, refused with 503/504 and no headers: the job needs about 120 requests.
  CodacyStandin codacy({.repos = 60, .window_quota = 60, .window_seconds = 1.0});
  const auto out = codacy.dir() / "tokens.csv";
  auto run = codacy.cli({"provision", "--yes", "--output", out.string(), "--retries", "20"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  expect_one_token_each_as_delivered(codacy, out, 60);
  const long accepted = codacy.counter("accepted"), refused = codacy.counter("refused");
  ASSERT_GE(accepted, 120);
  // Few refusals: the first ones teach the pacer the window, and it keeps under it afterwards (the time the
  // job takes against the window's minimum is measured by bench/cli-codacy.sh, not here).
  EXPECT_LE(refused * 4, accepted) << run.err;
  EXPECT_EQ(summary_count(run.err, "refused"), refused) << run.err;
}

TEST(CliCodacyStandin, CodacysOwnBaseUrlFormWithApiV3) {
  RT_NEEDS_STANDIN();
  CodacyStandin codacy({.repos = 3});
  const auto out = codacy.dir() / "tokens.csv";
  auto run = codacy.cli({"provision", "--yes", "--output", out.string()}, codacy.base_url() + "/api/v3");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  expect_one_token_each_as_delivered(codacy, out, 3);
  auto list = codacy.cli({"tokens", "list", "--repo", "r-0001", "--format", "json"}, codacy.base_url() + "/api/v3/");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto listed = nlohmann::json::parse(list.out, nullptr, false);
  ASSERT_TRUE(listed.is_array() && listed.size() == 1u) << list.out;
  EXPECT_TRUE(listed[0]["id"].is_number()) << list.out;
  auto held = codacy.tokens()["r-0001"];
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(list.out.find(held[0]["token"].get<std::string>()), std::string::npos) << "a list never shows secrets";
}

}  // namespace rt::test
