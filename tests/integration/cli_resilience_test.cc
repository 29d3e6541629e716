// `repotokens provision` under adversity: kill -9 of the CLI at random points, the server killed and
// restarted mid-run, and a rate-limited server (429 with headers, and Codacy-Cloud-style 503).
// Afterwards every repository has exactly one live token of the name, every delivered secret works, and
// no token is orphaned (the database holds no more tokens than live, delivered ones plus revoked ones).
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>
#include <regex>

#include "support/cli_fixture.h"

namespace rt::test {
namespace {

struct Counts {
  long requests = -1, refused = -1;
};
Counts summary_counts(const std::string& err) {
  std::smatch m;
  static const std::regex re("(\\d+) requests, (\\d+) refused");
  if (!std::regex_search(err, m, re)) return {};
  return {std::stol(m[1]), std::stol(m[2])};
}

}  // namespace

TEST(CliResilience, KilledSeveralTimesThenReRunFinishesWithNothingLostOrOrphaned) {
  ServerOptions options;
  options.extra_args = {"--rate-limit-per-token", "0"};
  CliWorld w(1000, options);
  auto out = w.server->dir() / "tokens.csv";
  const auto args = w.cli_args({"provision", "--yes", "--output", out.string()});
  std::mt19937 random(std::random_device{}());
  for (int round = 0; round < 4; ++round) {
    BackgroundCommand cli(args, w.cli_env(), w.server->dir().string());
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(150, 900)(random)));
    cli.kill9();
  }
  auto finish = w.cli({"provision", "--yes", "--output", out.string()});
  ASSERT_EQ(finish.exit_code, 0) << finish.err;
  w.expect_one_working_token_each(out);
  auto again = w.cli({"provision", "--yes", "--output", out.string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("created 0"), std::string::npos) << again.err;
  w.expect_one_working_token_each(out);
  EXPECT_EQ(w.stored_token_count(), 1000);  // no orphan of any name: revoked tokens leave no row
}

TEST(CliResilience, ServerKilledAndRestartedMidRun) {
  ServerOptions options;
  options.extra_args = {"--rate-limit-per-token", "0"};
  CliWorld w(600, options);
  auto out = w.server->dir() / "tokens.csv";
  {
    BackgroundCommand cli(w.cli_args({"provision", "--yes", "--output", out.string(), "--retries", "12"}), w.cli_env(),
                          w.server->dir().string());
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    w.server->kill9();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    w.server->restart();
    int status = cli.wait();
    // Same port: the run rides through on retries. A new port: the run fails cleanly and is re-run.
    if (status != 0) {
      EXPECT_EQ(status, 1) << cli.err();
    }
  }
  w.http = std::make_unique<HttpClient>(w.server->base_url());
  auto finish = w.cli({"provision", "--yes", "--output", out.string()});
  ASSERT_EQ(finish.exit_code, 0) << finish.err;
  w.expect_one_working_token_each(out);
}

TEST(CliResilience, ThrottledServerIsPacedNotHammered) {
  ServerOptions options;
  options.extra_args = {"--rate-limit-per-token", "100", "--rate-burst", "100"};
  CliWorld w(300, options);
  auto out = w.server->dir() / "tokens.csv";
  auto run = w.cli({"provision", "--yes", "--output", out.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  w.expect_one_working_token_each(out);
  Counts c = summary_counts(run.err);
  ASSERT_GT(c.requests, 600) << run.err;
  EXPECT_LE(c.refused * 100, c.requests * 1 + 200) << run.err;  // at most about 1% refused
}

TEST(CliResilience, CodacyCloudStyle503ThrottlingStillCompletes) {
  ServerOptions options;
  options.extra_args = {"--rate-limit-per-token", "50", "--rate-burst", "50", "--throttle-status", "503"};
  CliWorld w(100, options);
  auto out = w.server->dir() / "tokens.csv";
  auto run = w.cli({"provision", "--yes", "--output", out.string(), "--concurrency", "16"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  w.expect_one_working_token_each(out);
}

}  // namespace rt::test
